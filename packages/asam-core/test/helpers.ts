import { initEngine } from '@asam/engine';

export { makeMlp, relErr, values, type Mlp } from '../src/testing';

export async function useCpu(): Promise<void> {
  await initEngine({ backend: 'cpu' });
}

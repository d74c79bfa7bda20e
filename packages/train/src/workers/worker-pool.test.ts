import { describe, expect, it } from 'vitest';
import { createWorkerPool } from './worker-pool.ts';

const module = new URL('./test-handlers.ts', import.meta.url);

describe('worker pool', () => {
  it('runs handlers on each worker\'s own wasm engine, moves transferred buffers, reports handler errors', async () => {
    const pool = await createWorkerPool({ module, options: { scale: 3 }, workers: 2 });
    try {
      expect(await pool.all<string>('backend', () => null)).toEqual(['wasm', 'wasm']);
      const r = await pool.all<Float32Array>('scaled', (i) => Float32Array.from([1, 2, i]));
      expect(r.map((a) => Array.from(a))).toEqual([[3, 6, 0], [3, 6, 3]]);
      await expect(pool.call(1, 'fail')).rejects.toThrow('handler failed on purpose');
      await expect(pool.call(0, 'nope')).rejects.toThrow(/no handler 'nope' \(have: backend, scaled, fail\)/);
      expect(() => pool.call(2, 'backend')).toThrow(/worker index 2 out of range \[0, 2\)/);
    } finally {
      await pool.close();
    }
    await expect(createWorkerPool({ module, workers: 0 })).rejects.toThrow(/workers must be an integer >= 1/);
    await expect(createWorkerPool({ module: new URL('./worker-pool.ts', import.meta.url), workers: 1 })).rejects.toThrow(/does not export createHandlers/);
  }, 60_000);
});

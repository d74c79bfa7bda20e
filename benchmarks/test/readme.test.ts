import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readmeBlockIsCurrent } from '../src/readme-results.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('README results section', () => {
  it('is what the committed cpu summary generates (regenerate with pnpm bench:publish)', () => {
    expect(readmeBlockIsCurrent(path.join(ROOT, 'README.md'), path.join(ROOT, 'benchmarks/results/cpu'), ROOT, 'cpu')).toBe(true);
  });
});

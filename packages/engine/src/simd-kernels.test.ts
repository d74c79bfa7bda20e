import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TRAINING_KERNELS_SOURCE_SHA256 } from './generated/training-kernels-wasm.ts';
import { filterChunk } from './simd-kernels.ts';

const source = new URL('../native/training_kernels.c', import.meta.url);
const generated = new URL('./generated/training-kernels-wasm.ts', import.meta.url);
const script = new URL('../scripts/build-wasm.mjs', import.meta.url);

function clangVersion(): string | undefined {
  try {
    return execFileSync('clang', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return undefined;
  }
}

describe('the committed SIMD module is built from the committed C source', () => {
  it('the module was generated from native/training_kernels.c as it is now (SHA-256)', () => {
    const sha = createHash('sha256').update(readFileSync(source)).digest('hex');
    expect(sha, 'native/training_kernels.c changed without a rebuild: run pnpm --filter @asam/engine build:wasm').toBe(TRAINING_KERNELS_SOURCE_SHA256);
  });
  const recorded = /^\/\/ (.*); flags:/m.exec(readFileSync(generated, 'utf8'))?.[1];
  const local = clangVersion();
  it.skipIf(local === undefined || local !== recorded)(
    `a fresh build with the same compiler (${recorded}) gives the same bytes (skipped when that clang is absent: ${local ?? 'no clang'})`, () => {
      expect(() => execFileSync(process.execPath, [script.pathname, '--check'], { encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
    });
});

describe('filter-gradient cache chunk', () => {
  it('keeps a chunk of x and dy near 192 KiB and never below one image', () => {
    expect(filterChunk(32, 32, 16, 32, 32, 16)).toBe(1); // 128 KiB per image
    expect(filterChunk(8, 8, 64, 8, 8, 64)).toBe(6); // 32 KiB per image
    expect(filterChunk(224, 224, 3, 112, 112, 64)).toBe(1);
  });
});

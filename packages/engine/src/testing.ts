/**
 * `@asam/engine/testing`: the two helpers the kernel tests compare backends with — seeded data and a relative
 * error — shared with the whole-model checks in benchmarks/test/engine-training.test.ts. No tfjs import.
 */

/** Mulberry32: small seeded PRNG, uniform in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Float32Array of n values uniform in [-1, 1), from seed `seed`. */
export function randomArray(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * r() - 1;
  return out;
}

/** max|a − b| / max|b| (b is the reference); NaN in `a` gives NaN; throws on length mismatch. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= maxErr)) maxErr = d; // NaN propagates
    maxRef = Math.max(maxRef, Math.abs(b[i] as number));
  }
  return maxRef === 0 ? maxErr : maxErr / maxRef;
}

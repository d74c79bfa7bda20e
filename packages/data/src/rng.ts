/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", 2018), 128-bit state, period 2^128 - 1, seeded through splitmix32. Pure 32-bit integer
 * arithmetic, so the stream is identical on every JS engine. The state is a plain JSON object, so a
 * training run can checkpoint and resume its randomness exactly.
 */

/** Serializable RNG state. */
export interface RngState {
  algorithm: 'xoshiro128**';
  /** four uint32 words */
  s: [number, number, number, number];
}

/** murmur3 fmix32 finalizer: a bijective 32-bit mixer. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function splitSeed(seed: number, where: string): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`${where}: seed must be a non-negative safe integer, got ${seed}`);
  }
  return [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
}

/** Seeded RNG (xoshiro128**), serializable for checkpoint/resume. */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** @param seed non-negative safe integer; equal seeds give equal streams. */
  constructor(seed: number) {
    const [lo, hi] = splitSeed(seed, 'Rng');
    // splitmix32 over (lo, hi) fills the state; never all-zero because fmix32 is a bijection of distinct inputs.
    let x = lo ^ Math.imul(hi, 0x9e3779b9);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      return fmix32(x ^ hi);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * Independent stream for a tuple of keys, e.g. `Rng.derive(seed, epoch)` for the shuffle of one epoch or
   * `Rng.derive(seed, epoch, step, 1)` for one batch's augmentation. Lets any (epoch, step) be regenerated
   * without replaying earlier ones.
   */
  static derive(seed: number, ...keys: number[]): Rng {
    const [lo, hi] = splitSeed(seed, 'Rng.derive');
    let h = fmix32(lo ^ 0x243f6a88);
    h = fmix32(h ^ hi ^ 0x85a308d3);
    for (const k of keys) {
      const [klo, khi] = splitSeed(k, 'Rng.derive key');
      h = fmix32(Math.imul(h, 31) ^ klo ^ 0x13198a2e);
      h = fmix32(h ^ khi ^ 0x03707344);
    }
    return new Rng(h);
  }

  /** Next uint32 (xoshiro128** output). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits (two uint32 draws). */
  next(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling); 1 ≤ n ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const u = this.nextU32();
      if (u < limit) return u % n;
    }
  }

  /** Standard normal draw (Box–Muller, one value per two uniforms). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher–Yates shuffle (Durstenfeld): for i = n-1..1 swap a[i] with a[int(i+1)]. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array | Float32Array): void {
    const arr = a as unknown as { [k: number]: unknown; length: number };
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }

  /** Copy of the state (plain JSON). */
  getState(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0] };
  }

  /** Rebuilds an Rng from `getState()` output (validated). */
  static fromState(state: unknown): Rng {
    const st = state as Partial<RngState> | null;
    const ok =
      st !== null &&
      typeof st === 'object' &&
      st.algorithm === 'xoshiro128**' &&
      Array.isArray(st.s) &&
      st.s.length === 4 &&
      st.s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
      st.s.some((w) => w !== 0);
    if (!ok) {
      throw new TypeError(`Rng.fromState: expected {algorithm: 'xoshiro128**', s: [4 uint32, not all 0]}, got ${JSON.stringify(state)}`);
    }
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = (st as RngState).s.map((w) => w | 0) as [number, number, number, number];
    return r;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

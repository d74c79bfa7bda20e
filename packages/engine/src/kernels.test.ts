import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { setTrainingKernels } from './kernels.ts';
import { initEngine } from './engine.ts';
import { on, randomArray, relErr } from './test-utils.ts';

interface ConvCase { name: string; x: [number, number, number, number]; k: [number, number]; cout: number; s: number; pad: 'same' | 'valid' }
/** Every conv the vision models use, at small batch/spatial sizes (odd sizes included). */
const CONV_CASES: ConvCase[] = [
  { name: '3x3 s1 same', x: [2, 8, 8, 3], k: [3, 3], cout: 4, s: 1, pad: 'same' },
  { name: '3x3 s2 same', x: [2, 8, 8, 4], k: [3, 3], cout: 6, s: 2, pad: 'same' },
  { name: '3x3 s2 same odd', x: [2, 7, 9, 3], k: [3, 3], cout: 5, s: 2, pad: 'same' },
  { name: '3x3 s1 valid', x: [2, 7, 6, 3], k: [3, 3], cout: 4, s: 1, pad: 'valid' },
  { name: '3x3 s2 valid odd', x: [3, 9, 8, 2], k: [3, 3], cout: 3, s: 2, pad: 'valid' },
  { name: '1x1 s1 same', x: [2, 6, 6, 5], k: [1, 1], cout: 7, s: 1, pad: 'same' },
  { name: '1x1 s1 valid', x: [2, 5, 6, 4], k: [1, 1], cout: 3, s: 1, pad: 'valid' },
  { name: '1x1 s2 same', x: [2, 8, 8, 4], k: [1, 1], cout: 8, s: 2, pad: 'same' },
  { name: '1x1 s2 valid odd', x: [2, 7, 7, 4], k: [1, 1], cout: 8, s: 2, pad: 'valid' },
  { name: '7x7 s2 same (stem)', x: [2, 16, 16, 3], k: [7, 7], cout: 8, s: 2, pad: 'same' },
  { name: '7x7 s2 valid', x: [1, 15, 13, 3], k: [7, 7], cout: 4, s: 2, pad: 'valid' },
  { name: '5x5 s3 same', x: [2, 10, 11, 2], k: [5, 5], cout: 3, s: 3, pad: 'same' },
];

function outSize(h: number, k: number, s: number, pad: 'same' | 'valid'): number {
  return pad === 'same' ? Math.ceil(h / s) : Math.ceil((h - k + 1) / s);
}

describe('composed conv gradient kernels match the stock tfjs-cpu kernels', () => {
  for (const c of CONV_CASES) {
    const [n, h, w, cin] = c.x;
    const oh = outSize(h, c.k[0], c.s, c.pad);
    const ow = outSize(w, c.k[1], c.s, c.pad);
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], cin, c.cout];
    const xv = randomArray(n * h * w * cin, 1);
    const dyv = randomArray(n * oh * ow * c.cout, 2);
    const fv = randomArray(filterShape.reduce((a, b) => a * b), 3);
    const attrs = { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC' };
    const cbf = () => tf.engine().runKernel('Conv2DBackpropFilter',
      { x: tf.tensor4d(xv, c.x), dy: tf.tensor4d(dyv, [n, oh, ow, c.cout]) }, { ...attrs, filterShape }) as tf.Tensor;
    const cbi = () => tf.engine().runKernel('Conv2DBackpropInput',
      { dy: tf.tensor4d(dyv, [n, oh, ow, c.cout]), filter: tf.tensor4d(fv, filterShape) }, { ...attrs, inputShape: c.x }) as tf.Tensor;

    it(`Conv2DBackpropFilter ${c.name}: wasm and cpu composed vs cpu stock`, async () => {
      const [ref] = await on('cpu', false, cbf);
      const [cpu] = await on('cpu', true, cbf);
      const [wasm] = await on('wasm', true, cbf);
      expect(relErr(cpu!, ref!)).toBeLessThan(1e-4);
      expect(relErr(wasm!, ref!)).toBeLessThan(1e-4);
    });
    it(`Conv2DBackpropInput ${c.name}: wasm composed vs cpu stock`, async () => {
      const [ref] = await on('cpu', false, cbi);
      const [wasm] = await on('wasm', true, cbi);
      expect(wasm!.length).toBe(ref!.length);
      expect(relErr(wasm!, ref!)).toBeLessThan(1e-4);
    });
  }
});

describe('matmul with transpose flags', () => {
  const shapes: [number[], number[], boolean, boolean][] = [
    [[2, 3, 5, 4], [2, 3, 4, 6], false, false],
    [[2, 3, 4, 5], [2, 3, 4, 6], true, false],
    [[2, 3, 5, 4], [2, 3, 6, 4], false, true],
    [[3, 4, 5], [3, 6, 4], true, true],
    [[7, 5], [6, 5], false, true],
    [[2, 4, 5], [4, 6], true, false],
    [[7, 5], [5, 6], false, false], // stock wasm mis-broadcasts a [1] bias here
    [[1, 7, 5], [1, 5, 6], false, false],
  ];
  for (const [as, bs, ta, tb] of shapes) {
    const av = randomArray(as.reduce((p, q) => p * q), 4);
    const bv = randomArray(bs.reduce((p, q) => p * q), 5);
    const mm = () => tf.matMul(tf.tensor(av, as), tf.tensor(bv, bs), ta, tb);
    const fused = () => tf.fused.matMul({ a: tf.tensor(av, as), b: tf.tensor(bv, bs), transposeA: ta, transposeB: tb,
      bias: tf.fill([1], 0.25), activation: 'relu' });
    it(`BatchMatMul ${as}x${bs} tA=${ta} tB=${tb}: wasm composed == wasm stock, ≈ cpu`, async () => {
      const [ref] = await on('cpu', false, mm);
      const [stock] = await on('wasm', false, mm);
      const [ours] = await on('wasm', true, mm);
      expect(Array.from(ours!)).toEqual(Array.from(stock!));
      expect(relErr(ours!, ref!)).toBeLessThan(1e-5);
    });
    it(`_FusedMatMul ${as}x${bs} tA=${ta} tB=${tb}: wasm composed ≈ cpu`, async () => {
      const [ref] = await on('cpu', false, fused);
      const [ours] = await on('wasm', true, fused);
      expect(relErr(ours!, ref!)).toBeLessThan(1e-5);
    });
  }
});

describe('UnsortedSegmentSum', () => {
  const ids = [3, 0, 3, 9, 1, 3, 0, 5, 5, 5, 2, 11, 7];
  const x = randomArray(ids.length * 6, 6);
  const uss = () => tf.unsortedSegmentSum(tf.tensor2d(x, [ids.length, 6]), tf.tensor1d(ids, 'int32'), 12);
  const gatherGrad = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(ids, 'int32')),
    tf.tensor2d(x, [ids.length, 6]))))(tf.zeros([12, 6]));
  it('wasm and cpu composed vs cpu stock (incl. the gradient of gather)', async () => {
    const [ref, refG] = await on('cpu', false, () => [uss(), gatherGrad()]);
    const [cpu, cpuG] = await on('cpu', true, () => [uss(), gatherGrad()]);
    const [wasm, wasmG] = await on('wasm', true, () => [uss(), gatherGrad()]);
    for (const a of [cpu!, wasm!]) expect(relErr(a, ref!)).toBeLessThan(1e-6);
    for (const a of [cpuG!, wasmG!]) expect(relErr(a, refG!)).toBeLessThan(1e-6);
    // Hand check: segment 3 gets rows 0, 2, 5; segment 4 gets nothing.
    for (let j = 0; j < 6; j++) {
      expect(wasm![3 * 6 + j]).toBeCloseTo(x[0 * 6 + j]! + x[2 * 6 + j]! + x[5 * 6 + j]!, 5);
      expect(wasm![4 * 6 + j]).toBe(0);
    }
  });
  it('drops out-of-range ids and sums int32', async () => {
    const [r] = await on('wasm', true, () => tf.cast(tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4], 'int32'),
      tf.tensor1d([0, -1, 0, 7], 'int32'), 2), 'float32'));
    expect(Array.from(r!)).toEqual([4, 0]);
  });
});

describe('Sum / Mean over the leading axes (wasm, one pass, no transpose)', () => {
  // BN shapes of the vision models (small batch) plus a channel count that is not a multiple of 8.
  const cases: { shape: number[]; axis: number[]; keepDims: boolean }[] = [
    { shape: [2, 8, 8, 16], axis: [0, 1, 2], keepDims: false },
    { shape: [3, 4, 4, 32], axis: [0, 1, 2], keepDims: true },
    { shape: [2, 3, 3, 64], axis: [2, 0, 1], keepDims: false },
    { shape: [2, 5, 7, 13], axis: [0, 1, 2], keepDims: true },
    { shape: [6, 10], axis: [0], keepDims: false },
    { shape: [4, 3], axis: [-2], keepDims: true },
    { shape: [5, 6, 4, 3], axis: [0, 1, 2], keepDims: false },
  ];
  for (const c of cases) {
    const xv = randomArray(c.shape.reduce((a, b) => a * b), 11);
    const f = () => [tf.sum(tf.tensor(xv, c.shape), c.axis, c.keepDims), tf.mean(tf.tensor(xv, c.shape), c.axis, c.keepDims)];
    it(`[${c.shape}] axes [${c.axis}] keepDims ${c.keepDims}: wasm composed vs cpu stock`, async () => {
      const [refS, refM] = await on('cpu', false, f);
      const [s, m] = await on('wasm', true, f);
      expect(relErr(s!, refS!)).toBeLessThan(1e-5);
      expect(relErr(m!, refM!)).toBeLessThan(1e-5);
      const shapes = await initEngine({ backend: 'wasm' }).then(() => tf.tidy(() => f().map((t) => t.shape)));
      const outShape = c.keepDims ? [...c.shape.slice(0, -1).map(() => 1), c.shape.at(-1)!] : [c.shape.at(-1)!];
      expect(shapes).toEqual([outShape, outShape]);
    });
  }
  it('other axes and int32 go to the stock kernels; empty leading axes give zeros as on cpu', async () => {
    const xv = randomArray(2 * 3 * 4 * 5, 12);
    const f = () => [tf.sum(tf.tensor(xv, [2, 3, 4, 5]), [1, 2]), tf.mean(tf.tensor(xv, [2, 3, 4, 5]), [0, 3], true),
      tf.sum(tf.tensor(xv, [2, 3, 4, 5])), tf.cast(tf.sum(tf.tensor2d([[1, 2], [3, 4], [5, 7]], [3, 2], 'int32'), 0), 'float32'),
      tf.sum(tf.zeros([0, 3]), 0), tf.mean(tf.zeros([0, 2]), 0)];
    const ref = await on('cpu', false, f);
    const got = await on('wasm', true, f);
    ref.forEach((r, i) => expect(relErr(got[i]!, r)).toBeLessThan(1e-5));
    expect(Array.from(got[5]!)).toEqual([0, 0]);
    expect(Array.from(got[3]!)).toEqual([9, 13]);
    expect(Array.from(got[4]!)).toEqual([0, 0, 0]);
  });
});

describe('Identity (wasm) shares the buffer', () => {
  it('a clone keeps its values after the original is disposed; gradients through saved tensors are unchanged', async () => {
    await initEngine({ backend: 'wasm' });
    const be = tf.backend() as unknown as { numDataIds(): number };
    const a = tf.tensor1d([1, 2, 3]);
    const before = be.numDataIds();
    const b = tf.clone(a);
    expect(be.numDataIds()).toBe(before); // no new buffer
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
    expect(be.numDataIds()).toBe(before - 1);
    const xv = randomArray(24, 13);
    const g = () => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.square(x), tf.exp(x))))(tf.tensor(xv, [2, 3, 4]));
    const [ref] = await on('cpu', false, g);
    const [got] = await on('wasm', true, g);
    expect(relErr(got!, ref!)).toBeLessThan(1e-5);
  });
});

describe('kernel hygiene', () => {
  it('composed kernels free every temporary (backend data count flat)', async () => {
    await initEngine({ backend: 'wasm' });
    const x = tf.randomNormal([2, 9, 9, 3]);
    const dy = tf.randomNormal([2, 5, 5, 4]);
    const f = tf.randomNormal([3, 3, 3, 4]);
    const a = tf.randomNormal([3, 4, 5]);
    const be = tf.backend() as unknown as { numDataIds(): number };
    const run = () => {
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] });
      tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', inputShape: [2, 9, 9, 3] });
      tf.matMul(a, a, true, false);
      tf.unsortedSegmentSum(tf.reshape(x, [18, 27]), tf.fill([18], 2, 'int32'), 4);
      tf.moments(x, [0, 1, 2]);
      tf.sum(dy, [0, 1, 2], true);
      tf.clone(tf.clone(x));
    };
    tf.tidy(run);
    const before = be.numDataIds();
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.tidy(run);
    expect(be.numDataIds()).toBe(before);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([x, dy, f, a]);
  });
  it('setTrainingKernels restores the stock kernels and is idempotent', async () => {
    await initEngine({ backend: 'wasm' });
    expect(setTrainingKernels('wasm', true)).toContain('wasm:Conv2DBackpropFilter');
    expect(setTrainingKernels('wasm', false)).toEqual([]);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBeDefined();
    expect(setTrainingKernels('wasm', true)).toHaveLength(8);
    expect(setTrainingKernels('wasm', true)).toHaveLength(8);
    expect(() => setTrainingKernels('webgl' as 'wasm', true)).toThrow(/valid: wasm, cpu/);
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { convGradientStatus, makeChunkedAddN, setConvGradient, setTrainingKernels } from './kernels.ts';
import { initEngine } from './engine.ts';
import { CONV_CASES, on, outSize } from './test-utils.ts';
import { randomArray, relErr } from './testing.ts';

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

    it(`Conv2DBackpropFilter ${c.name}: wasm SIMD, wasm composed and cpu composed vs cpu stock`, async () => {
      const [ref] = await on('cpu', false, cbf);
      const [cpu] = await on('cpu', true, cbf);
      const [simd] = await on('wasm', true, cbf);
      setConvGradient('composed');
      try {
        const [composed] = await on('wasm', true, cbf);
        expect(relErr(composed!, ref!)).toBeLessThan(1e-4);
      } finally {
        setConvGradient('simd');
      }
      expect(relErr(cpu!, ref!)).toBeLessThan(1e-4);
      expect(simd!.length).toBe(ref!.length);
      expect(relErr(simd!, ref!)).toBeLessThan(1e-4);
    });
    it(`Conv2D / fused conv2d ${c.name}: wasm (SIMD for stride 1, XNNPACK otherwise) vs cpu stock`, async () => {
      const bv = randomArray(c.cout, 4);
      const f = () => [
        tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, filterShape), c.s, c.pad),
        tf.fused.conv2d({ x: tf.tensor4d(xv, c.x), filter: tf.tensor4d(fv, filterShape), strides: c.s, pad: c.pad }),
        tf.fused.conv2d({ x: tf.tensor4d(xv, c.x), filter: tf.tensor4d(fv, filterShape), strides: c.s, pad: c.pad, bias: tf.tensor1d(bv), activation: 'relu' }),
      ];
      const ref = await on('cpu', false, f);
      const got = await on('wasm', true, f);
      got.forEach((g, i) => {
        expect(g.length, `output ${i}`).toBe(ref[i]!.length);
        expect(relErr(g, ref[i]!), `output ${i}`).toBeLessThan(1e-5);
      });
    });
    it(`Conv2DBackpropInput ${c.name}: wasm SIMD and wasm composed vs cpu stock`, async () => {
      const [ref] = await on('cpu', false, cbi);
      const [simd] = await on('wasm', true, cbi);
      setConvGradient('composed');
      try {
        const [composed] = await on('wasm', true, cbi);
        expect(relErr(composed!, ref!)).toBeLessThan(1e-4);
      } finally {
        setConvGradient('simd');
      }
      expect(simd!.length).toBe(ref!.length);
      expect(relErr(simd!, ref!)).toBeLessThan(1e-4);
    });
  }
});

describe('SIMD convolution-gradient module', () => {
  it('is available on the wasm backend, and an unknown implementation name is refused', async () => {
    await initEngine({ backend: 'wasm' });
    expect(convGradientStatus(tf.backend())).toEqual({ impl: 'simd' });
    expect(() => setConvGradient('fast' as never)).toThrow(/unknown implementation 'fast'.*simd, composed/);
  });
  it('writes only its output: the bytes around x, dy and dW are untouched, no buffers leak', async () => {
    await initEngine({ backend: 'wasm' });
    const before = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const guardA = tf.fill([1000], 7.5);
    const x = tf.tensor4d(randomArray(2 * 9 * 10 * 16, 8), [2, 9, 10, 16]);
    const guardB = tf.fill([1000], -3.25);
    const dy = tf.tensor4d(randomArray(2 * 9 * 10 * 24, 9), [2, 9, 10, 24]);
    const f = tf.tensor4d(randomArray(3 * 3 * 16 * 24, 10), [3, 3, 16, 24]);
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC' };
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, 16, 24] }) as tf.Tensor;
    const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: [2, 9, 10, 16] }) as tf.Tensor;
    expect(Array.from(guardA.dataSync()).every((v) => v === 7.5)).toBe(true);
    expect(Array.from(guardB.dataSync()).every((v) => v === -3.25)).toBe(true);
    expect(dw.shape).toEqual([3, 3, 16, 24]);
    expect(dx.shape).toEqual([2, 9, 10, 16]);
    tf.dispose([guardA, guardB, x, dy, f, dw, dx]);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(before);
  });
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
    // past the GEMM blocks (MC 64, KC 256, NC 512) with edge tiles, both transposes
    [[70, 300], [300, 520], false, false],
    [[300, 70], [520, 300], true, true],
    // batch broadcasts: b shared, a shared, and one the GEMM does not take (falls back)
    [[3, 5, 4], [4, 6], false, false],
    [[1, 5, 4], [3, 4, 6], false, false],
    [[2, 1, 5, 4], [1, 3, 4, 6], false, false],
  ];
  for (const [as, bs, ta, tb] of shapes) {
    const av = randomArray(as.reduce((p, q) => p * q), 4);
    const bv = randomArray(bs.reduce((p, q) => p * q), 5);
    const mm = () => tf.matMul(tf.tensor(av, as), tf.tensor(bv, bs), ta, tb);
    const fused = () => tf.fused.matMul({ a: tf.tensor(av, as), b: tf.tensor(bv, bs), transposeA: ta, transposeB: tb,
      bias: tf.fill([1], 0.25), activation: 'relu' });
    it(`BatchMatMul ${as}x${bs} tA=${ta} tB=${tb}: wasm SIMD GEMM ≈ cpu; composed (transpose + stock) ≈ wasm stock`, async () => {
      const [ref] = await on('cpu', false, mm);
      const [stock] = await on('wasm', false, mm);
      const [ours] = await on('wasm', true, mm);
      expect(ours!.length).toBe(ref!.length);
      expect(relErr(ours!, ref!)).toBeLessThan(1e-5);
      setConvGradient('composed');
      try {
        const [composed] = await on('wasm', true, mm);
        expect(relErr(composed!, stock!)).toBeLessThan(1e-6);
      } finally {
        setConvGradient('simd');
      }
    });
    it.skipIf(as.length === 4 && as[1] === 1)(`_FusedMatMul ${as}x${bs} tA=${ta} tB=${tb}: wasm composed ≈ cpu (skipped for batch shapes tfjs's fused op does not broadcast)`, async () => {
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

describe('AddN in chunks (webgpu binds one storage buffer per input, 8 per shader by default)', () => {
  // The webgpu kernel calls the backend's own AddN on chunks; here the backend is cpu, seen through a device with
  // `limit` storage buffers, and a spy in place of the stock kernel records how many inputs each call got.
  it.each([3, 4, 8])('sums 20 tensors like tf.addN, each stock call within the limit (limit %i), freeing its partial sums', async (limit) => {
    await initEngine({ backend: 'cpu', trainingKernels: false });
    const stock = tf.getKernel('AddN', 'cpu')!;
    const calls: number[] = [];
    tf.unregisterKernel('AddN', 'cpu');
    tf.registerKernel({ ...stock, kernelFunc: (a) => { calls.push((a.inputs as unknown as unknown[]).length); return stock.kernelFunc(a); } });
    try {
      const xs = Array.from({ length: 20 }, (_, i) => tf.tensor2d(randomArray(12, 100 + i), [3, 4]));
      const ref = tf.addN(xs);
      const want = await ref.data();
      calls.length = 0;
      const backend = tf.backend() as tf.KernelBackend & { readSync(id: object): Float32Array };
      const device = Object.assign(Object.create(backend) as object, { device: { limits: { maxStorageBuffersPerShaderStage: limit } } });
      const before = backend.numDataIds();
      const out = makeChunkedAddN('cpu')({ inputs: xs as never, backend: device as never, attrs: {} }) as tf.TensorInfo;
      expect(backend.numDataIds()).toBe(before + 1);
      const got = backend.readSync(out.dataId);
      backend.disposeData(out.dataId);
      for (let i = 0; i < 12; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
      expect(Math.max(...calls)).toBe(limit - 1);
      expect(calls.length).toBeGreaterThan(1);
      tf.dispose([...xs, ref]);
    } finally {
      tf.unregisterKernel('AddN', 'cpu');
      tf.registerKernel(stock);
    }
  });
  it('passes up to limit - 1 inputs straight to the stock kernel (default limit 8)', async () => {
    await initEngine({ backend: 'cpu', trainingKernels: false });
    const xs = Array.from({ length: 7 }, (_, i) => tf.tensor1d([i, 2 * i]));
    const out = makeChunkedAddN('cpu')({ inputs: xs as never, backend: tf.backend() as never, attrs: {} }) as tf.TensorInfo;
    expect(Array.from((tf.backend() as never as { readSync(id: object): Float32Array }).readSync(out.dataId))).toEqual([21, 42]);
    tf.backend().disposeData(out.dataId);
    tf.dispose(xs);
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

describe('per-channel SIMD kernels (wasm): FusedBatchNorm and binary ops with a [C] operand', () => {
  // BN-layer shapes of the vision models (small batch), C not a multiple of 4, and 2-D inputs.
  const shapes = [[2, 8, 8, 16], [3, 5, 5, 13], [2, 4, 4, 64], [7, 3], [6, 4]];
  for (const shape of shapes) {
    const c = shape.at(-1)!;
    const size = shape.reduce((a, b) => a * b);
    const xv = randomArray(size, 21);
    const meanV = randomArray(c, 22);
    const varV = randomArray(c, 23).map((v) => v * v + 0.1);
    const offV = randomArray(c, 24);
    const scaleV = randomArray(c, 25);
    it(`FusedBatchNorm [${shape}] with/without offset and scale, [C] and [1,..,1,C] statistics: wasm vs cpu stock`, async () => {
      const vshape = [...shape.slice(0, -1).map(() => 1), c];
      const f = () => [
        tf.batchNorm(tf.tensor(xv, shape), tf.tensor1d(meanV), tf.tensor1d(varV), tf.tensor1d(offV), tf.tensor1d(scaleV), 1e-3),
        tf.batchNorm(tf.tensor(xv, shape), tf.tensor1d(meanV), tf.tensor1d(varV), undefined, undefined, 1e-5),
        tf.batchNorm(tf.tensor(xv, shape), tf.tensor(meanV, vshape), tf.tensor(varV, vshape), tf.tensor(offV, vshape), undefined, 0.01),
        tf.batchNorm(tf.tensor(xv, shape), tf.tensor1d(meanV), tf.tensor1d(varV), undefined, tf.tensor1d(scaleV), 0.1),
      ];
      const ref = await on('cpu', false, f);
      const got = await on('wasm', true, f);
      ref.forEach((r, i) => expect(relErr(got[i]!, r), `case ${i}`).toBeLessThan(1e-5));
    });
    it(`Add/Sub/Multiply/RealDiv [${shape}] with a [C] or [1,..,1,C] operand on either side: wasm vs cpu stock`, async () => {
      const vshape = [...shape.slice(0, -1).map(() => 1), c];
      const f = () => {
        const x = tf.tensor(xv, shape);
        const outs: tf.Tensor[] = [];
        for (const v of [tf.tensor1d(scaleV), tf.tensor(varV, vshape)]) {
          outs.push(tf.add(x, v), tf.add(v, x), tf.sub(x, v), tf.sub(v, x), tf.mul(x, v), tf.mul(v, x), tf.div(x, v), tf.div(v, x));
        }
        return outs;
      };
      const ref = await on('cpu', false, f);
      const got = await on('wasm', true, f);
      expect(got).toHaveLength(16);
      ref.forEach((r, i) => expect(relErr(got[i]!, r), `case ${i}`).toBeLessThan(1e-6));
    });
  }
  it('other broadcasts, int32 and same-shape operands go to the stock kernels and stay correct', async () => {
    const xv = randomArray(2 * 3 * 4, 26);
    const f = () => {
      const x = tf.tensor(xv, [2, 3, 4]);
      return [tf.mul(x, tf.tensor([1, 2, 3], [1, 3, 1])), tf.add(x, tf.scalar(2)), tf.sub(x, x), tf.div(x, tf.tensor(xv.slice(0, 12), [3, 4])),
        tf.cast(tf.mul(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), tf.tensor1d([2, 3], 'int32')), 'float32')];
    };
    const ref = await on('cpu', false, f);
    const got = await on('wasm', true, f);
    ref.forEach((r, i) => expect(relErr(got[i]!, r), `case ${i}`).toBeLessThan(1e-6));
    expect(Array.from(got[4]!)).toEqual([2, 6, 6, 12]);
  });
  it('Cast to the same dtype shares the buffer; a real cast still converts', async () => {
    await initEngine({ backend: 'wasm' });
    const be = tf.backend() as unknown as { numDataIds(): number };
    const a = tf.tensor1d([1.5, -2.5, 3]);
    const before = be.numDataIds();
    const same = tf.cast(a, 'float32');
    expect(be.numDataIds()).toBe(before);
    const asInt = tf.cast(a, 'int32');
    expect(Array.from(asInt.dataSync())).toEqual([1, -2, 3]);
    a.dispose();
    expect(Array.from(same.dataSync())).toEqual([1.5, -2.5, 3]);
    tf.dispose([same, asInt]);
  });
});

describe('Exp (wasm, SIMD polynomial)', () => {
  it('matches Math.exp to 3e-7 relative over [-100, 88], gives 0 / +inf / NaN at the ends, any length', async () => {
    const xs: number[] = [];
    for (let v = -100; v <= 88; v += 0.0137) xs.push(v);
    xs.push(0, -0, 1e-8, -1e-8, 88.7, 88.73, 89, 1000, -104, -200, Infinity, -Infinity, NaN);
    for (const n of [xs.length, 1, 2, 3, 5]) {
      const input = Float32Array.from(xs.slice(0, n));
      const [got] = await on('wasm', true, () => tf.exp(tf.tensor1d(input)));
      input.forEach((v, i) => {
        const want = Math.fround(Math.exp(v));
        const g = got![i]!;
        if (Number.isNaN(want)) expect(g, `exp(${v})`).toBeNaN();
        else if (!Number.isFinite(want) || want === 0) expect(g, `exp(${v})`).toBe(want);
        else if (want < 1.2e-38) expect(Math.abs(g - want), `exp(${v}) (subnormal)`).toBeLessThan(1e-44);
        else expect(Math.abs(g - want) / want, `exp(${v})`).toBeLessThan(3e-7);
      });
    }
  });
  it('a softmax cross-entropy over a large vocabulary and its gradient agree with cpu', async () => {
    const logits = randomArray(64 * 500, 41).map((v) => v * 20);
    const f = () => {
      const l = tf.tensor2d(logits, [64, 500]);
      const y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => (i * 7) % 500), 'int32'), 500);
      return [tf.losses.softmaxCrossEntropy(y, l), tf.grad((z: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, z))(l)];
    };
    const ref = await on('cpu', false, f);
    const got = await on('wasm', true, f);
    ref.forEach((r, i) => expect(relErr(got[i]!, r), `output ${i}`).toBeLessThan(1e-5));
  });
});

describe('Slice (wasm, contiguous copies)', () => {
  const cases: [number[], number[], number[]][] = [
    [[3, 10, 10, 4], [0, 1, 1, 0], [3, 8, 8, 4]], // crop of the spatial padding (whole rows)
    [[2, 5, 5, 8], [0, 0, 0, 2], [2, 5, 5, 4]], // channel slice (option-A shortcut gradient)
    [[2, 5, 5, 8], [1, 2, 0, 3], [-1, 2, -1, 5]], // -1 = to the end
    [[6, 7], [2, 3], [3, 4]],
    [[9], [4], [5]],
    [[2, 3, 4], [0, 0, 0], [2, 3, 4]],
    [[2, 3, 4, 5], [1, 1, 1, 1], [0, 2, 2, 2]], // empty
  ];
  for (const [shape, begin, size] of cases) {
    it(`[${shape}] begin [${begin}] size [${size}]: equals the cpu kernel (float32 and int32)`, async () => {
      const n = shape.reduce((a, b) => a * b);
      const xv = randomArray(n, 31);
      const f = () => [tf.slice(tf.tensor(xv, shape), begin, size),
        tf.cast(tf.slice(tf.tensor(Int32Array.from({ length: n }, (_, i) => i * 7 - 50), shape, 'int32'), begin, size), 'float32')];
      const ref = await on('cpu', false, f);
      const got = await on('wasm', true, f);
      got.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(ref[i]!)));
    });
  }
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
      tf.batchNorm(x, tf.fill([3], 0.5), tf.fill([3], 2), tf.fill([3], 0.1), tf.fill([3], 1.5), 1e-3);
      tf.mul(x, tf.fill([1, 1, 1, 3], 2));
      tf.cast(x, 'float32');
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
    expect(setTrainingKernels('wasm', true)).toHaveLength(23);
    expect(setTrainingKernels('wasm', true)).toHaveLength(23);
    expect(() => setTrainingKernels('webgl' as 'wasm', true)).toThrow(/valid: wasm, webgpu, cpu/);
  });
});

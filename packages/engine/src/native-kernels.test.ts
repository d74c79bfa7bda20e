/**
 * The native tier (oneDNN through Node-API, in place on the wasm heap) against the stock tfjs-cpu kernels, on every
 * convolution the vision models use and the matrix products of the Transformer. Where the addon is not built (no g++
 * or libdnnl-dev: see scripts/setup.sh) the kernel tests are skipped, and their names say why.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initEngine } from './engine.ts';
import { nativeKernels } from './native-kernels.ts';
import { loadNativeKernels } from './native-loader.ts';
import { CONV_CASES, on, outSize } from './test-utils.ts';
import { randomArray, relErr } from './testing.ts';

const STATUS = loadNativeKernels().status;
const SKIP = !STATUS.loaded;
const TIER = STATUS.loaded ? `oneDNN ${STATUS.onednn ?? ''} ${STATUS.isa ?? ''}` : `skipped: ${STATUS.reason ?? ''}`;

/** Primitives cached by the addon in this thread: grows by one at the first call of a new shape, so a kernel ran. */
const cached = (): number => nativeKernels()?.info().cached ?? -1;

describe(`native convolutions vs cpu stock (${TIER})`, () => {
  for (const c of CONV_CASES) {
    const [n, h, w, cin] = c.x;
    const oh = outSize(h, c.k[0], c.s, c.pad);
    const ow = outSize(w, c.k[1], c.s, c.pad);
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], cin, c.cout];
    const xv = randomArray(n * h * w * cin, 1);
    const dyv = randomArray(n * oh * ow * c.cout, 2);
    const fv = randomArray(filterShape.reduce((a, b) => a * b), 3);
    const bv = randomArray(c.cout, 4);
    const attrs = { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC' };
    const kernels = () => [
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, c.x), dy: tf.tensor4d(dyv, [n, oh, ow, c.cout]) }, { ...attrs, filterShape }) as tf.Tensor,
      tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dyv, [n, oh, ow, c.cout]), filter: tf.tensor4d(fv, filterShape) }, { ...attrs, inputShape: c.x }) as tf.Tensor,
      tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, filterShape), c.s, c.pad),
      tf.fused.conv2d({ x: tf.tensor4d(xv, c.x), filter: tf.tensor4d(fv, filterShape), strides: c.s, pad: c.pad, bias: tf.tensor1d(bv), activation: 'relu' }),
      tf.fused.conv2d({ x: tf.tensor4d(xv, c.x), filter: tf.tensor4d(fv, filterShape), strides: c.s, pad: c.pad, bias: tf.tensor1d(bv) }),
    ];
    it.skipIf(SKIP)(`${c.name}: filter and input gradients, conv, conv + bias + relu, conv + bias`, async () => {
      const ref = await on('cpu', false, kernels);
      await initEngine({ backend: 'wasm', nativeKernels: true });
      const before = cached();
      const got = await on('wasm', true, kernels, true);
      expect(cached()).toBeGreaterThan(before);
      got.forEach((g, i) => {
        expect(g.length, `output ${i}`).toBe(ref[i]!.length);
        expect(relErr(g, ref[i]!), `output ${i}`).toBeLessThan(i < 2 ? 1e-5 : 1e-6);
      });
    });
  }
});

describe(`native matrix products vs cpu stock (${TIER})`, () => {
  const shapes: [number[], number[], boolean, boolean][] = [
    [[2, 3, 5, 4], [2, 3, 4, 6], false, false],
    [[2, 3, 4, 5], [2, 3, 4, 6], true, false],
    [[2, 3, 5, 4], [2, 3, 6, 4], false, true],
    [[3, 4, 5], [3, 6, 4], true, true],
    [[7, 5], [6, 5], false, true],
    [[2, 4, 5], [4, 6], true, false],
    [[70, 300], [300, 520], false, false],
    [[300, 70], [520, 300], true, true],
    [[3, 5, 4], [4, 6], false, false],
    [[1, 5, 4], [3, 4, 6], false, false],
    [[2, 1, 5, 4], [1, 3, 4, 6], false, false], // a batch broadcast the native kernel does not take: the SIMD GEMM runs
  ];
  for (const [as, bs, ta, tb] of shapes) {
    const av = randomArray(as.reduce((p, q) => p * q), 4);
    const bv = randomArray(bs.reduce((p, q) => p * q), 5);
    const cols = bs[bs.length - (tb ? 2 : 1)]!;
    const cv = randomArray(cols, 6);
    const f = () => [
      tf.matMul(tf.tensor(av, as), tf.tensor(bv, bs), ta, tb),
      ...(as.length === 4 && as[1] === 1 ? [] : [
        tf.fused.matMul({ a: tf.tensor(av, as), b: tf.tensor(bv, bs), transposeA: ta, transposeB: tb, bias: tf.tensor1d(cv), activation: 'relu' }),
        // a one-element bias: not the native kernel's [N] bias, so the composed path runs
        tf.fused.matMul({ a: tf.tensor(av, as), b: tf.tensor(bv, bs), transposeA: ta, transposeB: tb, bias: tf.fill([1], 0.25) }),
      ]),
    ];
    it.skipIf(SKIP)(`${as}x${bs} tA=${ta} tB=${tb}: BatchMatMul, _FusedMatMul (bias [N] + relu, bias [1])`, async () => {
      const ref = await on('cpu', false, f);
      const got = await on('wasm', true, f, true);
      got.forEach((g, i) => {
        expect(g.length, `output ${i}`).toBe(ref[i]!.length);
        expect(relErr(g, ref[i]!), `output ${i}`).toBeLessThan(1e-5);
      });
    });
  }
});

describe(`native tier: memory (${TIER})`, () => {
  it.skipIf(SKIP)('writes only its outputs: the bytes around the tensors are untouched, and no backend buffer leaks', async () => {
    await initEngine({ backend: 'wasm', nativeKernels: true });
    const be = tf.backend() as unknown as { numDataIds(): number };
    const before = be.numDataIds();
    const guardA = tf.fill([1000], 7.5);
    const x = tf.tensor4d(randomArray(2 * 9 * 10 * 16, 8), [2, 9, 10, 16]);
    const guardB = tf.fill([1000], -3.25);
    const dy = tf.tensor4d(randomArray(2 * 9 * 10 * 24, 9), [2, 9, 10, 24]);
    const f = tf.tensor4d(randomArray(3 * 3 * 16 * 24, 10), [3, 3, 16, 24]);
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC' };
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, 16, 24] }) as tf.Tensor;
    const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: [2, 9, 10, 16] }) as tf.Tensor;
    const y = tf.conv2d(x, f, 1, 'same');
    const mm = tf.tidy(() => tf.matMul(tf.reshape(x, [180, 16]), tf.reshape(dy, [180, 24]), true, false));
    expect(Array.from(guardA.dataSync()).every((v) => v === 7.5)).toBe(true);
    expect(Array.from(guardB.dataSync()).every((v) => v === -3.25)).toBe(true);
    expect([dw.shape, dx.shape, y.shape, mm.shape]).toEqual([[3, 3, 16, 24], [2, 9, 10, 16], [2, 9, 10, 24], [16, 24]]);
    tf.dispose([guardA, guardB, x, dy, f, dw, dx, y, mm]);
    expect(be.numDataIds()).toBe(before);
  });

  it.skipIf(SKIP)('reads the heap after allocating its output, so a kernel right after the wasm memory grew is still correct', async () => {
    const xs: [number, number, number, number] = [2, 8, 8, 4];
    const xv = randomArray(2 * 8 * 8 * 4, 11);
    const fv = randomArray(3 * 3 * 4 * 5, 12);
    const conv = () => tf.conv2d(tf.tensor4d(xv, xs), tf.tensor4d(fv, [3, 3, 4, 5]), 1, 'same');
    const [ref] = await on('cpu', false, conv);
    await initEngine({ backend: 'wasm', nativeKernels: true });
    const memory = (tf.backend() as unknown as { wasm: { asm: { memory: { buffer: ArrayBuffer } } } }).wasm.asm.memory;
    const x = tf.tensor4d(xv, xs);
    const f = tf.tensor4d(fv, [3, 3, 4, 5]);
    const sizeBefore = memory.buffer.byteLength;
    // Fill the heap so that the output allocation inside the next kernel has to grow it.
    const filler: tf.Tensor[] = [];
    while (memory.buffer.byteLength === sizeBefore) filler.push(tf.zeros([4 << 20]));
    tf.dispose(filler);
    const big = tf.zeros([Math.ceil((memory.buffer.byteLength - sizeBefore) / 4) + (16 << 20)]);
    try {
      const y = tf.conv2d(x, f, 1, 'same');
      expect(relErr(Float32Array.from(y.dataSync()), ref!)).toBeLessThan(1e-6);
      y.dispose();
    } finally {
      tf.dispose([x, f, big]);
    }
  });

  it.skipIf(SKIP)('refuses a tensor outside the heap with an error instead of touching memory', async () => {
    await initEngine({ backend: 'wasm', nativeKernels: true });
    const k = nativeKernels()!;
    const heap = new ArrayBuffer(1024);
    const p = Int32Array.of(1, 4, 4, 2, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
    expect(() => k.conv(0, heap, 0, 128, -1, 4096, p)).toThrow(/tensor 'y' at offset 4096 .* outside the heap \(1024 bytes\)/);
    expect(() => k.matmul(heap, 0, 0, -1, 0, Int32Array.of(2, 3, 4, 4, 4, 0, 0, 0, 0))).toThrow(/batch sizes must be equal or one of them 1/);
  });

  it.skipIf(SKIP)('two oneDNN threads give the same convolution gradients as one', async () => {
    const c = CONV_CASES.find((x) => x.name === '3x3 s2 same, 8->16 ch')!;
    const [n, h, w, cin] = c.x;
    const dyShape: [number, number, number, number] = [n, outSize(h, 3, 2, 'same'), outSize(w, 3, 2, 'same'), c.cout];
    const xv = randomArray(n * h * w * cin, 13);
    const dyv = randomArray(dyShape.reduce((a, b) => a * b), 14);
    const cbf = () => tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, c.x), dy: tf.tensor4d(dyv, dyShape) },
      { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, cin, c.cout] }) as tf.Tensor;
    const [one] = await on('wasm', true, cbf, true);
    try {
      await initEngine({ backend: 'wasm', nativeKernels: { threads: 2 } });
      expect(nativeKernels()!.info().threads).toBe(2);
      const two = tf.tidy(() => Float32Array.from(cbf().dataSync()));
      expect(relErr(two, one!)).toBeLessThan(1e-6);
    } finally {
      await initEngine({ backend: 'wasm', nativeKernels: true });
    }
    expect(nativeKernels()!.info().threads).toBe(1);
  });
});

describe('native tier: switches and reasons', () => {
  it('a missing addon file leaves the tier off with the reason and the fix', () => {
    const r = loadNativeKernels({ path: '/nonexistent/onednn_kernels.node' });
    expect(r.addon).toBeUndefined();
    expect(r.status.loaded).toBe(false);
    expect(r.status.reason).toMatch(/not built: run `npx asam-build-native` \(needs g\+\+ and oneDNN|another native addon is already loaded/);
  });
  it('nativeKernels: false keeps the SIMD kernels and says so in EngineInfo; true records what loaded', async () => {
    const off = await initEngine({ backend: 'wasm', nativeKernels: false });
    expect(off.native).toEqual({ loaded: false, path: '', reason: 'switched off (nativeKernels: false)' });
    expect(nativeKernels()).toBeUndefined();
    const on2 = await initEngine({ backend: 'wasm', nativeKernels: true });
    expect(on2.native?.loaded).toBe(STATUS.loaded);
    expect(nativeKernels() !== undefined).toBe(STATUS.loaded);
    if (!STATUS.loaded) expect(on2.native?.reason).toBe(STATUS.reason);
    const cpu = await initEngine({ backend: 'cpu' });
    expect(cpu.native).toBeUndefined();
    expect(nativeKernels()).toBeUndefined();
  });
  it('threads must be a positive integer', () => {
    expect(() => loadNativeKernels({ threads: 0 })).toThrow(/threads must be a positive integer, got 0/);
  });
});

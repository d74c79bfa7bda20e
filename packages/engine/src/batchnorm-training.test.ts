import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initEngine } from './engine.ts';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, RELU_GRAD, composedBatchNormTraining, simdKernelUsable } from './kernels.ts';
import { randomArray, relErr } from './testing.ts';

const EPS = 1e-5;
/** Odd channel counts (SIMD remainder lanes), 2-D inputs, one row, and one per SIMD tile. */
const SHAPES: number[][] = [[3, 5, 7, 13], [2, 4, 4, 16], [37, 6], [1, 1, 1, 3], [2, 9, 11, 64], [5, 3, 2, 1]];

interface Data { x: tf.Tensor; gamma: tf.Tensor; beta: tf.Tensor; w: tf.Tensor; u: tf.Tensor; v: tf.Tensor }
/** Seeded inputs; `shift` moves x's mean far from 0 relative to its spread (the statistics' cancellation case). */
function data(shape: number[], shift = 0): Data {
  const c = shape[shape.length - 1]!;
  const size = shape.reduce((a, b) => a * b);
  return {
    x: tf.add(tf.tensor(randomArray(size, 1), shape), shift),
    gamma: tf.add(tf.tensor1d(randomArray(c, 3)), 1.5),
    beta: tf.tensor1d(randomArray(c, 4)),
    w: tf.tensor(randomArray(size, 2), shape),
    u: tf.tensor1d(randomArray(c, 5)),
    v: tf.tensor1d(randomArray(c, 6)),
  };
}

/** y, mean, variance by the fused kernel, or by tf.moments + tf.batchNorm (the path tfjs-layers takes). */
function forward(d: Data, fused: boolean, x = d.x, gamma = d.gamma, beta = d.beta): tf.Tensor[] {
  if (fused) return tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale: gamma, offset: beta }, { varianceEpsilon: EPS } as never) as tf.Tensor[];
  const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
  return [tf.batchNorm(x, mean, variance, beta, gamma, EPS), mean, variance];
}

/**
 * ∂/∂(x, γ, β) of Σ w ⊙ relu(y) (+ Σ u·mean + Σ v·variance with `stats`, which exercises the gradients reaching the
 * statistics outputs), plus the forward outputs.
 */
function run(shape: number[], fused: boolean, stats: boolean, shift = 0): tf.Tensor[] {
  const d = data(shape, shift);
  const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Scalar => {
    const [y, mean, variance] = forward(d, fused, x, g, b) as [tf.Tensor, tf.Tensor, tf.Tensor];
    let loss = tf.sum(tf.mul(d.w, tf.relu(y)));
    if (stats) loss = tf.add(loss, tf.add(tf.sum(tf.mul(d.u, mean)), tf.sum(tf.mul(d.v, variance))));
    return loss as tf.Scalar;
  };
  return [...forward(d, fused), ...tf.grads(f)([d.x, d.gamma, d.beta])];
}

const NAMES = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];

/** Reads the tensors `fn` returns on `backend`, disposing everything it made. */
async function read(backend: 'cpu' | 'wasm', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await initEngine({ backend, nativeKernels: false });
  return tf.tidy(() => fn().map((t) => Float32Array.from(t.dataSync())));
}

function expectClose(ours: Float32Array[], ref: Float32Array[], tol: number, label: string): void {
  ours.forEach((o, i) => {
    expect(o.length, `${label} ${NAMES[i]} length`).toBe(ref[i]!.length);
    expect(relErr(o, ref[i]!), `${label} ${NAMES[i]}`).toBeLessThan(tol);
  });
}

describe('BatchNormTraining (fused BatchNorm in training mode)', () => {
  it('is registered on wasm only, with its gradient kernel and ReluGrad', async () => {
    const info = await initEngine({ backend: 'wasm', nativeKernels: false });
    for (const k of [BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, RELU_GRAD]) {
      expect(tf.getKernel(k, 'wasm')).toBeDefined();
      expect(tf.getKernel(k, 'cpu')).toBeUndefined();
      expect(info.kernels).toContain(`wasm:${k}`);
    }
    expect(info.kernels).toContain('grad:BatchNormTraining');
    expect(info.kernels).toContain('grad:Relu');
  });

  for (const shape of SHAPES) {
    for (const stats of [false, true]) {
      it(`forward, statistics and gradients equal the composed path (cpu stock and wasm), [${shape}]${stats ? ', loss uses mean and variance' : ''}`, async () => {
        const ref = await read('cpu', () => run(shape, false, stats));
        const composedWasm = await read('wasm', () => run(shape, false, stats));
        const fused = await read('wasm', () => run(shape, true, stats));
        expectClose(composedWasm, ref, 1e-5, 'wasm composed vs cpu');
        expectClose(fused, ref, 1e-5, 'fused vs cpu');
      });
    }
  }

  it('keeps the statistics exact when |mean| ≫ std (x + 300)', async () => {
    const shape = [4, 6, 5, 12];
    const ref = await read('cpu', () => run(shape, false, true, 300));
    const fused = await read('wasm', () => run(shape, true, true, 300));
    // y and the gradients go through x − mean, which carries float32's rounding of x (≈ 300·6e-8 absolute) in both
    expectClose(fused.slice(1, 3), ref.slice(1, 3), 1e-6, 'statistics');
    expectClose(fused, ref, 1e-4, 'all');
  });

  it('the gradient composed from tf ops (no BatchNormTrainingGrad kernel) equals the kernel', async () => {
    const shape = [3, 5, 7, 13];
    const withKernel = await read('wasm', () => run(shape, true, true));
    const config = tf.getKernel(BATCH_NORM_TRAINING_GRAD, 'wasm')!;
    tf.unregisterKernel(BATCH_NORM_TRAINING_GRAD, 'wasm');
    try {
      const composed = await read('wasm', () => run(shape, true, true));
      expectClose(composed, withKernel, 1e-5, 'composed gradient');
    } finally {
      tf.registerKernel(config);
    }
  });

  it('a wrong gradient would be caught: dropping the statistics terms changes dx by far more than the tolerance', async () => {
    // the fused dx against the gradient with μ, σ² held constant (FusedBatchNorm's own gradient alone)
    const shape = [2, 4, 4, 16];
    const fused = await read('wasm', () => run(shape, true, false));
    const constantStats = await read('wasm', () => {
      const d = data(shape);
      const { mean, variance } = tf.moments(d.x, [0, 1, 2]);
      const f = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(d.w, tf.relu(tf.batchNorm(x, mean, variance, d.beta, d.gamma, EPS))));
      return [tf.grad(f)(d.x)];
    });
    expect(relErr(fused[3]!, constantStats[0]!)).toBeGreaterThan(1e-2);
  });

  it('without the SIMD module the kernel is the stock composition (tf.moments + tf.batchNorm), same values, no buffers left', async () => {
    await initEngine({ backend: 'wasm', nativeKernels: false });
    expect(simdKernelUsable(BATCH_NORM_TRAINING_GRAD)).toBe(true);
    const shape = [3, 5, 7, 13];
    const [fused, composed] = tf.tidy(() => {
      const d = data(shape);
      const buffers = tf.backend().numDataIds();
      const infos = composedBatchNormTraining(tf.backend(), d.x, d.gamma, d.beta, EPS);
      expect(tf.backend().numDataIds()).toBe(buffers + 3); // y, mean, variance: the temporaries are freed
      const c = infos.map((t) => tf.engine().makeTensorFromTensorInfo(t));
      return [forward(d, true), c].map((ts) => ts.map((t) => Float32Array.from(t.dataSync())));
    });
    expectClose(fused!, composed!, 1e-5, 'SIMD vs composed kernel body');
  });

  it('leaves no tensors or backend buffers behind', async () => {
    await initEngine({ backend: 'wasm', nativeKernels: false });
    const step = (): void => tf.dispose(tf.tidy(() => run([2, 4, 4, 16], true, true)));
    step();
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.backend().numDataIds()).toBe(buffers);
  });

  it('rejects inputs it does not cover with a message naming them', async () => {
    await initEngine({ backend: 'wasm', nativeKernels: false });
    tf.tidy(() => {
      const x = tf.zeros([2, 3, 4]);
      expect(() => tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale: tf.ones([3]), offset: tf.zeros([4]) }, { varianceEpsilon: EPS } as never))
        .toThrow(/scale float32 \[3\]/);
    });
  });
});

describe('ReluGrad (Relu gradient in one pass)', () => {
  it('equals the stock gradient dy·step(x) bitwise, zeros and NaN included', async () => {
    const n = 4 * 37 + 3;
    const xs = randomArray(n, 7);
    xs[0] = 0; xs[1] = -0; xs[2] = NaN; xs[5] = Infinity; xs[6] = -Infinity; xs[n - 1] = NaN;
    const dys = randomArray(n, 8);
    const grad = (): tf.Tensor[] => [tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.tensor1d(dys), tf.relu(x))))(tf.tensor1d(xs))];
    const stock = await read('cpu', grad);
    await initEngine({ backend: 'wasm', nativeKernels: false });
    const withKernel = tf.tidy(() => Float32Array.from(grad()[0]!.dataSync()));
    const cfg = tf.getKernel(RELU_GRAD, 'wasm')!;
    tf.unregisterKernel(RELU_GRAD, 'wasm');
    let stockWasm: Float32Array;
    try {
      stockWasm = tf.tidy(() => Float32Array.from(grad()[0]!.dataSync()));
    } finally {
      tf.registerKernel(cfg);
    }
    expect(Array.from(withKernel)).toEqual(Array.from(stock[0]!));
    expect(Array.from(withKernel)).toEqual(Array.from(stockWasm));
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { trainWithAsam } from '../examples/layers-custom-loop';
import { sam } from '../src/index';
import { useCpu } from './helpers';

beforeAll(useCpu);

describe('tfjs-layers integration', () => {
  it('the README example trains a BatchNorm MLP with ASAM: loss falls, no tensor leak', () => {
    // two Gaussian blobs per class, 3 classes
    const n = 96;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      xs.push(Math.cos(c * 2.1) * 2 + Math.sin(i * 7.7) * 0.5, Math.sin(c * 2.1) * 2 + Math.cos(i * 3.3) * 0.5, Math.sin(i));
      ys.push(c);
    }
    const x = tf.tensor2d(xs, [n, 3]);
    const y = tf.oneHot(tf.tensor1d(ys, 'int32'), 3) as tf.Tensor2D;
    trainWithAsam(x, y, 2); // warm-up: tfjs-layers caches a few constants on first use
    const before = tf.memory().numTensors;
    const losses = trainWithAsam(x, y, 60);
    expect(tf.memory().numTensors).toBe(before);
    expect(losses[losses.length - 1]!).toBeLessThan(0.3 * losses[0]!);
    tf.dispose([x, y]);
  });

  it('guarding model.nonTrainableWeights keeps BatchNorm statistics from the clean pass only', () => {
    const build = () => {
      const m = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2], units: 4, kernelInitializer: 'ones' }), tfl.layers.batchNormalization({ momentum: 0.9 })] });
      return m;
    };
    const x = tf.tensor2d([[1, 2], [3, -1], [0.5, 0.5]]);
    const clean = build();
    (clean.apply(x, { training: true }) as tf.Tensor).dispose(); // one clean forward
    const stepped = build();
    const f = () => tf.mean(tf.square(stepped.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar;
    sam(tf.train.sgd(0.1), { rho: 0.5 }, { guard: stepped.nonTrainableWeights }).minimize(f, false, stepped.trainableWeights.map((w) => w.read() as tf.Variable));
    clean.nonTrainableWeights.forEach((w, i) => {
      expect(Array.from(stepped.nonTrainableWeights[i]!.read().dataSync())).toEqual(Array.from(w.read().dataSync()));
    });
    tf.dispose(x);
  });
});

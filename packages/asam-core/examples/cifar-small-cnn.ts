/**
 * The small CIFAR-10 CNN and data helpers shared by the Node example (`cifar10-fit.ts`) and the browser
 * example (`browser/main.ts`): CIFAR-10 binary records (1 label byte + 3072 bytes, channels first), a
 * generator of learnable data in the same format (for machines without the data set), and the model.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Bytes per CIFAR-10 binary record: the label, then 32×32 red, green and blue planes. */
export const CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32;
const MEAN = [0.4914, 0.4822, 0.4465];
const STD = [0.247, 0.2435, 0.2616];

/** Images (NHWC, normalized per channel) and one-hot labels, as plain arrays. */
export interface CifarArrays {
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

/** Decodes the first `limit` records of a CIFAR-10 binary batch file. */
export function parseCifar(bytes: Uint8Array, limit = Infinity): CifarArrays {
  if (bytes.length % CIFAR_RECORD_BYTES !== 0) {
    throw new Error(`Invalid CIFAR-10 batch: ${bytes.length} bytes is not a multiple of the ${CIFAR_RECORD_BYTES}-byte record.`);
  }
  const count = Math.min(limit, bytes.length / CIFAR_RECORD_BYTES);
  const images = new Float32Array(count * 3072);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const r = i * CIFAR_RECORD_BYTES;
    labels[i] = bytes[r]!;
    if (labels[i]! > 9) throw new Error(`Invalid CIFAR-10 batch: record ${i} has label ${labels[i]}; expected 0-9.`);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) images[i * 3072 + p * 3 + c] = (bytes[r + 1 + c * 1024 + p]! / 255 - MEAN[c]!) / STD[c]!;
    }
  }
  return { images, labels, count };
}

/**
 * `n` records in CIFAR-10 binary format that a small CNN can learn: each class has its own colour and
 * stripe orientation/frequency, plus per-pixel noise (deterministic in `seed`).
 */
export function syntheticCifar(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n * CIFAR_RECORD_BYTES);
  let s = seed >>> 0 || 1;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let i = 0; i < n; i++) {
    const label = Math.floor(rand() * 10);
    const r = i * CIFAR_RECORD_BYTES;
    out[r] = label;
    const angle = (label * Math.PI) / 10;
    const freq = 0.3 + 0.08 * (label % 5);
    const phase = rand() * 6.28;
    for (let c = 0; c < 3; c++) {
      const tint = 60 + 40 * ((label + c * 3) % 4);
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const stripe = Math.sin(freq * (x * Math.cos(angle) + y * Math.sin(angle)) + phase);
          const v = tint + 60 * stripe + 50 * (rand() - 0.5);
          out[r + 1 + c * 1024 + y * 32 + x] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
  }
  return out;
}

/** The arrays as tensors: x [n, 32, 32, 3], y one-hot [n, 10]. */
export function toTensors(d: CifarArrays): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return tf.tidy(() => ({
    x: tf.tensor4d(d.images, [d.count, 32, 32, 3]),
    y: tf.cast(tf.oneHot(tf.tensor1d(d.labels, 'int32'), 10), 'float32') as tf.Tensor2D,
  }));
}

/** conv(16)-BN-ReLU-pool, conv(32)-BN-ReLU-pool, global average pool, dense(10, softmax). */
export function smallCnn(seed = 0): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.heNormal({ seed: seed * 10 + k });
  return tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [32, 32, 3], filters: 16, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(1) }),
    tfl.layers.batchNormalization({ momentum: 0.9 }),
    tfl.layers.activation({ activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(2) }),
    tfl.layers.batchNormalization({ momentum: 0.9 }),
    tfl.layers.activation({ activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.globalAveragePooling2d({}),
    tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed * 10 + 3 }) }),
  ] });
}

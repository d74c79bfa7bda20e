/**
 * ASAM through tfjs-layers `compile()` + `fit()` on CIFAR-10 in Node: the small CNN of `cifar-small-cnn.ts`
 * on the first `trainImages` images of `data_batch_1.bin`, evaluated on the first `testImages` of
 * `test_batch.bin`, with validation data, History and an early-stopping callback, as any tfjs-layers script.
 *
 *   tsx examples/cifar10-fit.ts [dataDir]      (dataDir: a folder with cifar-10-batches-bin/; default: $ASAM_DATA_DIR,
 *                                               else generated CIFAR-format data)
 * Run by test/cifar10-fit.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { asam } from '@asam/core';
import { parseCifar, smallCnn, toTensors } from './cifar-small-cnn.ts';

export interface Cifar10FitOptions {
  /** A folder holding cifar-10-batches-bin/ (data_batch_1.bin, test_batch.bin). */
  dataDir: string;
  trainImages: number;
  testImages: number;
  epochs: number;
  batchSize?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface Cifar10FitResult {
  /** tfjs-layers History: loss, acc, val_loss, val_acc per epoch. */
  history: Record<string, number[]>;
  testAccuracy: number;
}

export async function cifar10Fit(o: Cifar10FitOptions): Promise<Cifar10FitResult> {
  const dir = join(o.dataDir, 'cifar-10-batches-bin');
  const train = toTensors(parseCifar(new Uint8Array(await readFile(join(dir, 'data_batch_1.bin'))), o.trainImages));
  const test = toTensors(parseCifar(new Uint8Array(await readFile(join(dir, 'test_batch.bin'))), o.testImages));
  const model = smallCnn(o.seed ?? 0);
  // the only line that differs from plain tfjs-layers training: the optimizer
  const optimizer = asam(tf.train.momentum(0.05, 0.9), { rho: 0.5, eta: 0.01, weightDecay: 5e-4 }, { model });
  model.compile({
    optimizer,
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  try {
    const h = await model.fit(train.x, train.y, {
      epochs: o.epochs,
      batchSize: o.batchSize ?? 32,
      validationData: [test.x, test.y],
      verbose: 0,
      callbacks: [
        tfl.callbacks.earlyStopping({ monitor: 'val_loss', patience: 3 }),
        new tfl.CustomCallback({
          onEpochEnd: async (epoch: number, logs?: tfl.Logs) => {
            o.log?.(`epoch ${epoch + 1}: ${Object.entries(logs ?? {}).map(([k, v]) => `${k} ${Number(v).toFixed(4)}`).join(', ')}`);
          },
        }),
      ],
    });
    const acc = tf.tidy(() => tf.mean(tfl.metrics.categoricalAccuracy(test.y, model.predict(test.x) as tf.Tensor)).dataSync()[0]!);
    return { history: h.history as Record<string, number[]>, testAccuracy: acc };
  } finally {
    tf.dispose([train.x, train.y, test.x, test.y]);
    model.dispose();
    optimizer.dispose(); // compile() does not take ownership of an optimizer instance
  }
}

async function main(): Promise<void> {
  const { initEngine } = await import('@asam/engine');
  const { mkdtemp, mkdir, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { syntheticCifar } = await import('./cifar-small-cnn');
  const info = await initEngine();
  let dataDir = process.argv[2] ?? process.env['ASAM_DATA_DIR'];
  if (dataDir == null) {
    dataDir = await mkdtemp(join(tmpdir(), 'cifar-synthetic-'));
    await mkdir(join(dataDir, 'cifar-10-batches-bin'));
    await writeFile(join(dataDir, 'cifar-10-batches-bin', 'data_batch_1.bin'), syntheticCifar(2000, 1));
    await writeFile(join(dataDir, 'cifar-10-batches-bin', 'test_batch.bin'), syntheticCifar(500, 2));
    console.log(`no data folder given and ASAM_DATA_DIR unset: using generated CIFAR-format data in ${dataDir}`);
  }
  console.log(`backend ${info.backend}; data ${dataDir}`);
  const r = await cifar10Fit({ dataDir, trainImages: 2000, testImages: 500, epochs: 10, log: console.log });
  console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(1)}%`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}

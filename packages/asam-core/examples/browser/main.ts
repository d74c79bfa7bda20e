/// <reference lib="dom" />
/**
 * Browser example: SGD vs ASAM through tfjs-layers compile() + fit() on the wasm backend with this
 * project's training kernels, with live loss curves. Bundled by build.ts; tested end to end in headless
 * Chromium by test/browser.e2e.test.ts, which reads `window.asamExample` when `document.title` is `done`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine, setWasmPaths } from '@asam/engine/browser';
import { asam } from '@asam/core';
import { parseCifar, smallCnn, syntheticCifar, toTensors } from '../cifar-small-cnn.ts';

interface Run {
  name: 'sgd' | 'asam';
  color: string;
  losses: number[];
}

interface ExampleResult {
  backend: string;
  kernels: string[];
  runs: Record<string, { losses: number[]; valAcc: number[]; seconds: number }>;
}

declare global {
  interface Window {
    asamExample?: ExampleResult;
  }
}

const status = document.getElementById('status')!;
const canvas = document.getElementById('chart') as HTMLCanvasElement;
const runs: Run[] = [];

function say(line: string): void {
  status.textContent += `\n${line}`;
}

function draw(totalSteps: number): void {
  const g = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  g.clearRect(0, 0, w, h);
  const all = runs.flatMap((r) => r.losses);
  if (all.length === 0) return;
  const top = Math.max(...all) * 1.05;
  g.strokeStyle = '#eee';
  for (let i = 1; i < 4; i++) {
    g.beginPath();
    g.moveTo(0, (h * i) / 4);
    g.lineTo(w, (h * i) / 4);
    g.stroke();
  }
  g.fillStyle = '#666';
  g.fillText(top.toFixed(2), 4, 12);
  g.fillText('0', 4, h - 4);
  for (const r of runs) {
    g.strokeStyle = r.color;
    g.lineWidth = 2;
    g.beginPath();
    r.losses.forEach((l, i) => {
      const x = (i / Math.max(1, totalSteps - 1)) * (w - 10) + 5;
      const y = h - (l / top) * (h - 10) - 5;
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  }
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const images = Number(params.get('images') ?? 1024);
  const epochs = Number(params.get('epochs') ?? 5);
  const batchSize = Number(params.get('batch') ?? 32);
  for (const [k, v] of Object.entries({ images, epochs, batch: batchSize })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`Invalid query parameter '${k}': got ${v}; expected an integer >= 1.`);
  }
  await setWasmPaths(new URL('./wasm/', location.href).href);
  const info = await initEngine({ backend: 'wasm' });
  status.textContent = `backend ${info.backend} (SIMD ${info.wasm?.simd}), kernels: ${info.kernels.length}; ${images} images, ${epochs} epochs, batch ${batchSize}`;
  const train = toTensors(parseCifar(syntheticCifar(images, 1)));
  const val = toTensors(parseCifar(syntheticCifar(Math.max(64, images >> 2), 2)));
  const totalSteps = epochs * Math.ceil(images / batchSize);
  const result: ExampleResult = { backend: info.backend, kernels: info.kernels, runs: {} };
  for (const name of ['sgd', 'asam'] as const) {
    const run: Run = { name, color: name === 'sgd' ? '#1f77b4' : '#d62728', losses: [] };
    runs.push(run);
    const model = smallCnn(0); // the same initial weights for both runs
    const base = tf.train.momentum(0.05, 0.9);
    const optimizer = name === 'sgd' ? base : asam(base, { rho: 0.5, eta: 0.01 }, { model });
    model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const t0 = performance.now();
    const h = await model.fit(train.x, train.y, {
      epochs, batchSize, validationData: [val.x, val.y], verbose: 0,
      callbacks: new tfl.CustomCallback({
        onBatchEnd: async (_batch: number, logs?: tfl.Logs) => {
          run.losses.push(Number(logs?.['loss']));
          draw(totalSteps);
        },
        onEpochEnd: async (epoch: number, logs?: tfl.Logs) => {
          say(`${name} epoch ${epoch + 1}: loss ${Number(logs?.['loss']).toFixed(4)}, val_acc ${Number(logs?.['val_acc']).toFixed(3)}`);
        },
      }),
    });
    const seconds = (performance.now() - t0) / 1000;
    result.runs[name] = { losses: run.losses, valAcc: h.history['val_acc'] as number[], seconds };
    say(`${name}: ${seconds.toFixed(1)} s`);
    model.dispose();
    optimizer.dispose();
  }
  tf.dispose([train.x, train.y, val.x, val.y]);
  window.asamExample = result;
  document.title = 'done';
}

main().catch((e: unknown) => {
  status.classList.add('error');
  say(`error: ${e instanceof Error ? e.message : String(e)}`);
  console.error(e);
  document.title = 'error';
});

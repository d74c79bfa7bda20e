/**
 * @asam/data's pipeline throughput. Run: `ASAM_DATA_DIR=... pnpm --filter @asam/benchmarks bench:data [--out results.json]`.
 * Prints images/s for CIFAR batching (with augmentation), JPEG decoding + transforms, and sentences/s for
 * corpus loading; with --out also writes the figures as JSON. Each figure is the median of 3 timed runs
 * after one warm-up run.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import {
  CIFAR10_MEAN, CIFAR10_STD, ImageBatcher, JpegDecoderPool, Rng, decodeJpeg, evalTransform, listImageFolder, loadCifar10, loadIwslt14, loadMulti30k,
  readJpeg, resolveDataDir, trainTransform,
} from '@asam/data';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const outIdx = process.argv.indexOf('--out');
const outPath = outIdx > 0 ? process.argv[outIdx + 1] : undefined;
const root = resolveDataDir({ env: process.env });
const results: Record<string, { value: number; perCpuSecond: number; unit: string; samples: number[]; note: string }> = {};

/**
 * Runs `fn` once to warm up, then 3 times; reports the median rate by wall clock and the median rate per
 * CPU-second of this process (user + system, all threads), which is less sensitive to other load on the machine.
 */
async function measure(name: string, unit: string, note: string, count: number, fn: () => Promise<void> | void): Promise<void> {
  await fn(); // warm-up
  const samples: number[] = [];
  const cpuRates: number[] = [];
  for (let i = 0; i < 3; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    samples.push(count / wall);
    cpuRates.push(count / ((c.user + c.system) / 1e6));
  }
  samples.sort((a, b) => a - b);
  cpuRates.sort((a, b) => a - b);
  const value = samples[1] as number;
  const perCpuSecond = cpuRates[1] as number;
  results[name] = { value, perCpuSecond, unit, samples, note };
  console.log(`${name.padEnd(44)} ${value.toFixed(0).padStart(9)} ${unit} (wall)  ${perCpuSecond.toFixed(0).padStart(9)} per CPU-s   [${samples.map((s) => s.toFixed(0)).join(', ')}]  ${note}`);
}

await initEngine({ backend: 'cpu' });
console.log(`data dir ${root}; node ${process.version}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

// CIFAR-10
const train = await loadCifar10(root, 'train');
await measure('cifar10 load (binary → HWC)', 'images/s', `${train.n} records`, train.n, async () => {
  await loadCifar10(root, 'train');
});
const B = 128;
const batcher = new ImageBatcher(train, { batchSize: B, shuffle: true, seed: 0, augment: 'cifar', mean: CIFAR10_MEAN, std: CIFAR10_STD });
const steps = batcher.stepsPerEpoch();
let ep = 0;
await measure('cifar10 batch prepare, augment (arrays)', 'images/s', `batch ${B}, pad4+crop+flip, normalise`, train.n, () => {
  const order = batcher.order(ep);
  for (let s = 0; s < steps; s++) batcher.prepare(ep, s, order);
  ep++;
});
const cut = new ImageBatcher(train, { batchSize: B, shuffle: true, seed: 0, augment: 'cifar', cutout: 16, mean: CIFAR10_MEAN, std: CIFAR10_STD });
await measure('cifar10 batch prepare, augment + cutout16', 'images/s', `batch ${B}`, train.n, () => {
  const order = cut.order(ep);
  for (let s = 0; s < steps; s++) cut.prepare(ep, s, order);
  ep++;
});
await measure('cifar10 ImageBatcher epoch → tensors (cpu)', 'images/s', `batch ${B}, prefetch 2, x+y tensors created and disposed`, train.n, async () => {
  for await (const b of batcher.epoch(ep++)) tf.dispose([b.x, b.y]);
});

// JPEG
const inet = await listImageFolder(join(root, 'imagenet-samples'), 'train');
const bytes = await Promise.all(inet.entries.map((e) => readFile(e.path)));
let mp = 0;
for (let i = 0; i < bytes.length; i++) { const im = decodeJpeg(bytes[i] as Buffer, ''); mp += (im.width * im.height) / 1e6; }
await measure('jpeg-js decode (from memory)', 'images/s', `${bytes.length} ImageNet JPEGs, ${(mp / bytes.length).toFixed(2)} MP avg`, bytes.length, () => {
  for (let i = 0; i < bytes.length; i++) decodeJpeg(bytes[i] as Buffer, inet.entries[i]?.path ?? '');
});
const pool = new JpegDecoderPool(2);
await measure('jpeg-js decode, JpegDecoderPool(2 workers)', 'images/s', 'same images, decoded in worker threads', bytes.length, async () => {
  await Promise.all(bytes.map((b, i) => pool.decode(b, inet.entries[i]?.path ?? '')));
});
await pool.close();
const decoded = await Promise.all(inet.entries.map((e) => readJpeg(e.path)));
const rng = new Rng(1);
await measure('random-resized-crop 224 + flip', 'images/s', 'on decoded images', decoded.length, () => {
  for (const im of decoded) trainTransform(im, rng);
});
await measure('resize 256 + centre crop 224', 'images/s', 'on decoded images', decoded.length, () => {
  for (const im of decoded) evalTransform(im);
});
await measure('read + decode + eval transform', 'images/s', 'end to end from files', decoded.length, async () => {
  for (const e of inet.entries) evalTransform(await readJpeg(e.path));
});

// Corpora
await measure('multi30k train raw (.gz) load', 'sentences/s', '29,000 pairs, both sides counted', 58000, async () => {
  await loadMulti30k(root, 'train');
});
await measure('multi30k train tokenized load', 'sentences/s', '29,000 pairs, both sides counted', 58000, async () => {
  await loadMulti30k(root, 'train', { tokenized: true });
});
await measure('iwslt14 test raw from XML', 'sentences/s', '6,750 pairs from 10 XML files, both sides', 13500, async () => {
  await loadIwslt14(root, 'test');
});
await measure('iwslt14 valid bpe load', 'sentences/s', '7,283 pairs, both sides', 14566, async () => {
  await loadIwslt14(root, 'valid', { form: 'bpe' });
});

console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
if (outPath) {
  writeFileSync(outPath, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, loadavg: loadavg(), results }, null, 2));
  console.log(`wrote ${outPath}`);
}

/**
 * Command line for @asam/vision training (application layer: reads argv/env and picks the backend).
 *
 *   tsx packages/vision/src/cli.ts --model resnet20 --optimizer asam --rho 0.5 --epochs 1 --train-limit 512 --out runs/x
 *
 * Data comes from --data-dir, else $ASAM_DATA_DIR, else the per-user cache. A run directory that already holds a
 * checkpoint is resumed with --resume (its config.json is reused; only --backend, --data-dir and the execution settings
 * --micro-batch, --workers, --progress-every may be given again).
 */
import { initEngine, type BackendRequest } from '@asam/engine';
import { resolveDataDir } from '@asam/data';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { version_core } from '@tensorflow/tfjs-core';
import { join, resolve } from 'node:path';
import { getModelSpec, listModels, resolveConfig, trainClassifier, type PartialTrainConfig, type TrainConfig, type TrainProgress } from './index.ts';

type Kind = 'int' | 'num' | 'str' | 'bool';
interface Flag { key: string; kind: Kind; help: string; set: (c: Record<string, unknown>, o: Record<string, unknown>, v: unknown) => void }
const top = (k: string) => (c: Record<string, unknown>, _o: Record<string, unknown>, v: unknown) => { c[k] = v; };
const opt = (k: string) => (_c: Record<string, unknown>, o: Record<string, unknown>, v: unknown) => { o[k] = v; };

const FLAGS: Record<string, Flag> = {
  '--model': { key: 'model', kind: 'str', help: 'registry id (see --list-models)', set: top('model') },
  '--out': { key: 'out', kind: 'str', help: 'run directory', set: top('out') },
  '--dataset': { key: 'dataset', kind: 'str', help: 'cifar10 | cifar100 | imagenet (default cifar10; imagenet switches the defaults to the ImageNet recipe)', set: top('dataset') },
  '--imagenet-folder': { key: 'imagenetFolder', kind: 'str', help: 'ImageNet: folder under the data dir with train/<wnid>/*.JPEG (default imagenet; samples: imagenet-samples)', set: top('imagenetFolder') },
  '--image-size': { key: 'imageSize', kind: 'int', help: 'ImageNet: crop size in pixels (default 224; e.g. 64 on a CPU)', set: top('imageSize') },
  '--eval-split': { key: 'evalSplit', kind: 'str', help: 'ImageNet: split evaluated each epoch, val | train (default val; train for folders without val)', set: top('evalSplit') },
  '--optimizer': { key: 'method', kind: 'str', help: 'sgd | sam | asam (default asam)', set: (_c, o, v) => { o.method = v === 'sgd' ? 'none' : v; } },
  '--rho': { key: 'rho', kind: 'num', help: 'neighbourhood radius (default 0.05 sam, 0.5 asam; ImageNet 0.1 / 1.0)', set: opt('rho') },
  '--eta': { key: 'eta', kind: 'num', help: 'ASAM eta (default 0.01)', set: opt('eta') },
  '--p': { key: 'p', kind: 'str', help: '2 | inf (default 2)', set: (_c, o, v) => { o.p = v === '2' ? 2 : v; } },
  '--normalization': { key: 'normalization', kind: 'str', help: 'elementwise | filterwise', set: opt('normalization') },
  '--weight-decay': { key: 'weightDecay', kind: 'num', help: 'coupled L2 (default 5e-4; ImageNet 1e-4)', set: opt('weightDecay') },
  '--clip-norm': { key: 'clipNorm', kind: 'num', help: 'global gradient-norm clip (default off)', set: opt('clipNorm') },
  '--every': { key: 'every', kind: 'int', help: 'sharpness-aware step every k steps (default 1)', set: opt('every') },
  '--epochs': { key: 'epochs', kind: 'int', help: 'default 200 (ImageNet 100)', set: top('epochs') },
  '--batch-size': { key: 'batchSize', kind: 'int', help: 'default 128 (ImageNet 512)', set: top('batchSize') },
  '--eval-batch-size': { key: 'evalBatchSize', kind: 'int', help: 'default 256', set: top('evalBatchSize') },
  '--lr': { key: 'lr', kind: 'num', help: 'peak learning rate (default 0.1; ImageNet 0.2)', set: top('lr') },
  '--momentum': { key: 'momentum', kind: 'num', help: 'default 0.9', set: top('momentum') },
  '--schedule': { key: 'schedule', kind: 'str', help: 'cosine | constant', set: top('schedule') },
  '--label-smoothing': { key: 'labelSmoothing', kind: 'num', help: 'default 0.1', set: top('labelSmoothing') },
  '--augment': { key: 'augment', kind: 'str', help: 'cifar (CIFAR default) | imagenet (random-resized-crop + flip, ImageNet default) | none', set: top('augment') },
  '--cutout': { key: 'cutout', kind: 'int', help: 'cutout side in pixels (default 0)', set: top('cutout') },
  '--dropout': { key: 'dropout', kind: 'num', help: 'dropout rate (WRN only)', set: top('dropout') },
  '--label-noise': { key: 'labelNoise', kind: 'num', help: 'label-noise rate in [0,1)', set: (c, _o, v) => { c.labelNoise = { ...(c.labelNoise as object ?? { kind: 'symmetric' }), rate: v }; } },
  '--noise-kind': { key: 'labelNoise.kind', kind: 'str', help: 'symmetric | pairflip', set: (c, _o, v) => { c.labelNoise = { ...(c.labelNoise as object ?? {}), kind: v }; } },
  '--seed': { key: 'seed', kind: 'int', help: 'default 0', set: top('seed') },
  '--train-limit': { key: 'trainLimit', kind: 'int', help: 'use the first N train images (ImageNet: first N files in (class, file) order)', set: top('trainLimit') },
  '--test-limit': { key: 'testLimit', kind: 'int', help: 'use the first N test images', set: top('testLimit') },
  '--max-steps-per-epoch': { key: 'maxStepsPerEpoch', kind: 'int', help: 'cap steps per epoch', set: top('maxStepsPerEpoch') },
  '--checkpoint-every': { key: 'checkpointEverySteps', kind: 'int', help: 'also checkpoint every N steps', set: top('checkpointEverySteps') },
  '--workers': { key: 'workers', kind: 'int', help: 'data-parallel worker threads (one per core; wasm/cpu)', set: top('workers') },
  '--micro-batch': { key: 'microBatch', kind: 'int', help: 'at most N images per forward/backward pass (gradient accumulation)', set: top('microBatch') },
  '--progress-every': { key: 'progressEvery', kind: 'int', help: 'progress line every N steps (default 10)', set: top('progressEvery') },
};
const OTHER = {
  '--backend': 'auto | tensorflow-gpu | tensorflow | webgpu | wasm | cpu (default $ASAM_BACKEND or auto)',
  '--data-dir': 'dataset root (default $ASAM_DATA_DIR, else ~/.cache/asam/data)',
  '--resume': 'resume the run in --out from its checkpoint (reuses its config.json)',
  '--list-models': 'print the model registry and exit',
  '--help': 'this text',
};

function usage(): string {
  const lines = ['usage: tsx packages/vision/src/cli.ts --model <id> --out <dir> [options]', '',
    'ImageNet: --dataset imagenet reads <data dir>/<--imagenet-folder>/{train,<--eval-split>}/<wnid>/*.JPEG, e.g.',
    '  --dataset imagenet --imagenet-folder imagenet-samples --image-size 64 --eval-split train --model resnet10_tiny',
    '  (the sample folder has no val split, so it is evaluated on its own train images)', ''];
  for (const [f, d] of Object.entries(FLAGS)) lines.push(`  ${f.padEnd(24)} ${d.help}`);
  for (const [f, d] of Object.entries(OTHER)) lines.push(`  ${f.padEnd(24)} ${d}`);
  return lines.join('\n');
}

function fail(msg: string): never {
  process.stderr.write(`error: ${msg}\nrun with --help for the list of flags\n`);
  process.exit(2);
}

function parseValue(flag: string, kind: Kind, raw: string | undefined): unknown {
  if (raw === undefined || raw.startsWith('--')) fail(`${flag} needs a value`);
  if (kind === 'str') return raw;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) fail(`${flag} ${JSON.stringify(raw)} is not a number`);
  if (kind === 'int' && !Number.isInteger(v)) fail(`${flag} ${raw} must be an integer`);
  return v;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600); const m = Math.floor((s % 3600) / 60); const sec = Math.round(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

function progressLine(p: TrainProgress): string {
  const width = 20;
  const filled = Math.round((p.step / p.stepsPerEpoch) * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  const tag = p.phase === 'epoch_end' ? 'done' : 'train';
  return `epoch ${p.epoch + 1}/${p.epochs} [${bar}] step ${p.step}/${p.stepsPerEpoch} ${tag} loss ${p.loss.toFixed(4)} acc ${(100 * p.acc).toFixed(2)}% ` +
    `lr ${p.lr.toExponential(3)} ${p.imagesPerSec.toFixed(1)} img/s ETA ${fmtTime(p.etaSeconds)}`;
}

async function main(argv: string[]): Promise<void> {
  const c: Record<string, unknown> = {};
  const o: Record<string, unknown> = {};
  let backend: string | undefined;
  let dataDir: string | undefined;
  let resume = false;
  const given: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h') { process.stdout.write(usage() + '\n'); return; }
    if (a === '--list-models') {
      for (const s of listModels()) process.stdout.write(`${s.id.padEnd(20)} ${s.description}${s.paperParams ? ` (published ${(s.paperParams / 1e6).toFixed(2)}M params)` : ''}\n`);
      return;
    }
    if (a === '--resume') { resume = true; continue; }
    if (a === '--backend') { backend = parseValue(a, 'str', argv[++i]) as string; continue; }
    if (a === '--data-dir') { dataDir = parseValue(a, 'str', argv[++i]) as string; continue; }
    const f = FLAGS[a];
    if (!f) fail(`unknown flag ${JSON.stringify(a)}`);
    f.set(c, o, parseValue(a, f.kind, argv[++i]));
    given.push(a);
  }
  if (typeof c.out !== 'string') fail('--out <dir> is required');
  const out = resolve(c.out);
  let cfg: TrainConfig;
  if (resume) {
    // How a step is computed may change on resume (e.g. micro-batching after running out of memory); nothing else.
    const executionFlags = ['--out', '--micro-batch', '--workers', '--progress-every'];
    const extra = given.filter((g) => !executionFlags.includes(g));
    if (extra.length) fail(`--resume reuses ${join(out, 'config.json')}; drop ${extra.join(', ')} (only --backend, --data-dir, --micro-batch, --workers, --progress-every may be given)`);
    const p = join(out, 'config.json');
    if (!existsSync(p)) fail(`--resume: ${out} has no config.json (not a run directory)`);
    const saved = JSON.parse(readFileSync(p, 'utf8')) as PartialTrainConfig;
    for (const k of ['microBatch', 'workers', 'progressEvery'] as const) if (k in c) (saved as Record<string, unknown>)[k] = c[k];
    try { cfg = resolveConfig(saved); } catch (e) { fail((e as Error).message); }
  } else {
    if (typeof c.model !== 'string') fail('--model <id> is required (see --list-models)');
    if (Object.keys(o).length) c.optimizer = o;
    c.out = out;
    try { cfg = resolveConfig(c as PartialTrainConfig); } catch (e) { fail((e as Error).message); }
  }
  try { getModelSpec(cfg.model); } catch (e) { fail((e as Error).message); }
  // A resumed run keeps the backend it started on (env.json) unless --backend says otherwise.
  const envPath = join(out, 'env.json');
  if (backend === undefined && resume && existsSync(envPath)) backend = (JSON.parse(readFileSync(envPath, 'utf8')) as { backend?: string }).backend;
  const engine = await initEngine({ backend: (backend ?? process.env.ASAM_BACKEND ?? 'auto') as BackendRequest });
  mkdirSync(out, { recursive: true });
  const env = { backend: engine.backend, requested: engine.requested, reason: engine.reason, node: process.version,
    tfjsCore: version_core, argv: process.argv.slice(2), startedAt: new Date().toISOString() };
  writeFileSync(`${envPath}.tmp-${process.pid}`, JSON.stringify(env, null, 2) + '\n');
  renameSync(`${envPath}.tmp-${process.pid}`, envPath);
  const root = resolveDataDir({ dir: dataDir, env: process.env });
  process.stdout.write(`[vision] backend ${engine.backend} (${engine.reason}); data ${root}; model ${cfg.model}; ` +
    `optimizer ${cfg.optimizer.method} rho ${cfg.optimizer.rho}; out ${out}\n`);
  const tty = process.stdout.isTTY;
  const result = await trainClassifier(cfg, {
    backend: engine.backend, dataDir: root, resume: resume ? 'auto' : 'never', // --resume without a checkpoint yet restarts the run from its config.json
    onProgress: (p) => {
      const line = progressLine(p);
      if (tty && p.phase === 'train') process.stdout.write(`\r${line}`);
      else process.stdout.write(`${tty ? '\r' : ''}${line}\n`);
    },
    onEpoch: (m) => process.stdout.write(`epoch ${m.epoch}: train loss ${m.train_loss.toFixed(4)} acc ${(100 * m.train_acc).toFixed(2)}% | ` +
      `test loss ${m.test_loss.toFixed(4)} acc ${(100 * m.test_acc).toFixed(2)}%${m.test_top5 !== null ? ` top5 ${(100 * m.test_top5).toFixed(2)}%` : ''} | ${m.seconds.toFixed(1)} s\n`),
  });
  process.stdout.write(`[vision] ${result.status}: best test acc ${result.bestTestAcc === null ? '-' : (100 * result.bestTestAcc).toFixed(2) + '%'}, ` +
    `final ${result.finalTestAcc === null ? '-' : (100 * result.finalTestAcc).toFixed(2) + '%'}, ${result.wallSeconds.toFixed(1)} s wall\n`);
  process.stdout.write(`[vision] results in ${out}: config.json, env.json, metrics.csv, result.json, checkpoint.bin\n`);
  if (result.status !== 'completed') process.exitCode = 3;
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

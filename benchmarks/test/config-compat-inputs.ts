/**
 * Inputs of the config-compatibility check (test/config-compat.test.ts, scripts/snapshot-resolved-configs.ts): every
 * config the vision and translation resolvers get from a benchmark cell — the committed run folders' config.json and
 * cell.json, every cell of every experiment and profile, as the task adapters pass them on — and hand-picked edge
 * cases (null fields, ImageNet defaults, partial nested objects, invalid values). All JSON values: no `undefined`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandGrid, PROFILES, type TaskConfig } from '../src/experiment.ts';
import { createExperimentRegistry } from '../src/experiments/index.ts';

export interface CompatInput {
  /** Where the input comes from (unique). */
  source: string;
  task: 'vision' | 'nmt';
  input: unknown;
}

const benchRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What the vision / nmt task adapters (src/tasks/) hand the resolver for a cell config run in `outDir`. */
function adapterInput(task: 'vision' | 'nmt', config: TaskConfig, outDir: string): unknown {
  const { bench: _bench, ...rest } = config;
  if (task === 'vision') return { ...rest, out: outDir };
  return { ...rest, dataDir: 'data', outDir, cacheDir: (config.cacheDir as string | undefined) ?? 'cache/nmt' };
}

function cellFolders(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const here = fs.existsSync(path.join(dir, 'cell.json')) ? [dir] : [];
  return [...here, ...fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => cellFolders(path.join(dir, e.name)))];
}

/** Committed run folders under benchmarks/results: the cell's config (through its adapter) and its saved config.json. */
function committedInputs(): CompatInput[] {
  const out: CompatInput[] = [];
  for (const dir of cellFolders(path.join(benchRoot, 'results')).sort()) {
    const rel = path.relative(benchRoot, dir).split(path.sep).join('/');
    const cell = JSON.parse(fs.readFileSync(path.join(dir, 'cell.json'), 'utf8')) as { task: string; config: TaskConfig };
    if (cell.task !== 'vision' && cell.task !== 'nmt') continue;
    out.push({ source: `${rel}/cell.json`, task: cell.task, input: adapterInput(cell.task, cell.config, rel) });
    const saved = path.join(dir, 'config.json');
    if (fs.existsSync(saved)) out.push({ source: `${rel}/config.json`, task: cell.task, input: JSON.parse(fs.readFileSync(saved, 'utf8')) });
  }
  return out;
}

/** Every vision / nmt cell of every experiment and profile. */
function gridInputs(): CompatInput[] {
  const out: CompatInput[] = [];
  for (const def of createExperimentRegistry().list()) {
    if (def.task !== 'vision' && def.task !== 'nmt') continue;
    for (const profile of PROFILES) {
      if (!def.profiles[profile]) continue;
      for (const cell of expandGrid(def, profile)) {
        const where = `runs/${profile}/${def.id}/${cell.id}`;
        out.push({ source: `grid ${def.id}/${profile}/${cell.id}`, task: def.task, input: adapterInput(def.task, cell.config, where) });
      }
    }
  }
  return out;
}

const V = { model: 'resnet20', out: 'runs/x' };
const N = { dataDir: 'data', outDir: 'runs/x', cacheDir: 'cache' };

/** Edge cases, valid and invalid. */
const EDGE: [string, 'vision' | 'nmt', unknown][] = [
  ['vision minimal', 'vision', V],
  ['vision sam', 'vision', { ...V, optimizer: { method: 'sam' } }],
  ['vision none', 'vision', { ...V, optimizer: { method: 'none' } }],
  ['vision nulls mean defaults', 'vision', { ...V, epochs: null, lr: null, seed: null, optimizer: null, labelNoise: null, trainLimit: null, imageSize: null, evalSplit: null, workers: null }],
  ['vision optimizer nulls', 'vision', { ...V, optimizer: { method: null, rho: null, eta: null, clipNorm: null, weightDecay: null, every: null } }],
  ['vision everything given', 'vision', {
    ...V, dataset: 'cifar100', seed: 7, epochs: 3, batchSize: 64, evalBatchSize: 100, lr: 0.05, momentum: 0.8, nesterov: true, schedule: 'constant',
    optimizer: { method: 'sam', rho: 0.1, eta: 0.02, p: 'inf', normalization: 'filterwise', weightDecay: 1e-3, weightDecayInAscent: true, clipNorm: 5, every: 2 },
    labelSmoothing: 0, augment: 'cifar', cutout: 16, dropout: 0.3, labelNoise: { rate: 0.4, kind: 'pairflip' }, trainLimit: 1000, testLimit: 500,
    maxStepsPerEpoch: 10, checkpointEverySteps: 5, microBatch: 32, workers: 1, progressEvery: 3, imagenetFolder: 'inet', imageSize: null, evalSplit: 'val',
  }],
  ['vision label noise with an extra key', 'vision', { ...V, labelNoise: { rate: 0.2, kind: 'symmetric', note: 'kept as given' } }],
  ['vision workers', 'vision', { ...V, workers: 4, batchSize: 128 }],
  ['vision augment none', 'vision', { ...V, augment: 'none' }],
  ['vision imagenet', 'vision', { model: 'resnet50', out: 'x', dataset: 'imagenet' }],
  ['vision imagenet sam', 'vision', { model: 'resnet50', out: 'x', dataset: 'imagenet', optimizer: { method: 'sam' } }],
  ['vision imagenet none', 'vision', { model: 'resnet50', out: 'x', dataset: 'imagenet', optimizer: { method: 'none' } }],
  ['vision imagenet small', 'vision', { model: 'resnet10_tiny', out: 'x', dataset: 'imagenet', imageSize: 64, imagenetFolder: 'imagenet-samples', evalSplit: 'train', lr: 0.05, augment: 'none', microBatch: 8 }],
  ['vision bad lr', 'vision', { ...V, lr: 0 }],
  ['vision bad epochs', 'vision', { ...V, epochs: 1.5 }],
  ['vision bad dataset', 'vision', { ...V, dataset: 'mnist' }],
  ['vision bad method', 'vision', { ...V, optimizer: { method: 'adam' } }],
  ['vision rho with none', 'vision', { ...V, optimizer: { method: 'none', rho: 0.1 } }],
  ['vision unknown optimizer field', 'vision', { ...V, optimizer: { rhoo: 1 } }],
  ['vision unknown field', 'vision', { ...V, epoch: 3 }],
  ['vision bad model id', 'vision', { ...V, model: 'ResNet20' }],
  ['vision missing model', 'vision', { out: 'x' }],
  ['vision empty out', 'vision', { model: 'resnet20', out: '' }],
  ['vision label noise rate', 'vision', { ...V, labelNoise: { rate: 1.2, kind: 'symmetric' } }],
  ['vision label noise kind', 'vision', { ...V, labelNoise: { rate: 0.2, kind: 'random' } }],
  ['vision workers with microBatch', 'vision', { ...V, workers: 2, microBatch: 16 }],
  ['vision workers over batch', 'vision', { ...V, workers: 4, batchSize: 2 }],
  ['vision cutout without cifar augment', 'vision', { ...V, cutout: 8, augment: 'none' }],
  ['vision imagenet null imageSize', 'vision', { model: 'resnet50', out: 'x', dataset: 'imagenet', imageSize: null }],
  ['vision imagenet cifar augment', 'vision', { model: 'resnet50', out: 'x', dataset: 'imagenet', augment: 'cifar' }],
  ['vision cifar imageSize', 'vision', { ...V, imageSize: 64 }],
  ['vision cifar evalSplit train', 'vision', { ...V, evalSplit: 'train' }],
  ['vision string number', 'vision', { ...V, epochs: '3' }],
  ['vision array config', 'vision', []],
  ['nmt minimal', 'nmt', N],
  ['nmt iwslt default split', 'nmt', { ...N, corpus: 'iwslt14' }],
  ['nmt iwslt valid split', 'nmt', { ...N, corpus: 'iwslt14', testSplit: 'valid' }],
  ['nmt partial search', 'nmt', { ...N, search: { beam: 4, kind: 'greedy' } }],
  ['nmt null search and optimizer', 'nmt', { ...N, search: null, optimizer: null }],
  ['nmt sam optimizer as given', 'nmt', { ...N, optimizer: { method: 'sam', rho: 0.1 } }],
  ['nmt asam optimizer with options', 'nmt', { ...N, optimizer: { method: 'asam', rho: 0.2, eta: 0.01, weightDecay: 1e-4, normalization: 'elementwise', clipNorm: null } }],
  ['nmt arch overrides', 'nmt', { ...N, preset: 'transformer_tiny', archOverrides: { dropout: 0.1, preNorm: true } }],
  ['nmt limits', 'nmt', { ...N, maxUpdates: 100, trainLimit: 50, validLimit: null, testLimit: 20, maxEpochs: 2, samples: 0, resume: false, seed: 0 }],
  ['nmt bad lr', 'nmt', { ...N, lr: -1 }],
  ['nmt bad preset', 'nmt', { ...N, preset: 'big' }],
  ['nmt heads not dividing', 'nmt', { ...N, archOverrides: { heads: 5 } }],
  ['nmt unknown arch field', 'nmt', { ...N, archOverrides: { layers: 5 } }],
  ['nmt unknown field', 'nmt', { ...N, lrr: 1 }],
  ['nmt bad search kind', 'nmt', { ...N, search: { kind: 'sample' } }],
  ['nmt unknown search field', 'nmt', { ...N, search: { width: 3 } }],
  ['nmt maxTokens below maxLen', 'nmt', { ...N, maxTokens: 10, maxLen: 20 }],
  ['nmt warmupInitLr above lr', 'nmt', { ...N, warmupInitLr: 1e-2 }],
  ['nmt multi30k test split', 'nmt', { ...N, testSplit: 'test' }],
  ['nmt bad optimizer', 'nmt', { ...N, optimizer: { method: 'adam', rho: 0 } }],
  ['nmt bad resume', 'nmt', { ...N, resume: 'yes' }],
  ['nmt null maxEpochs', 'nmt', { ...N, maxEpochs: null }],
  ['nmt empty dataDir', 'nmt', { ...N, dataDir: '' }],
  ['nmt bad corpus', 'nmt', { ...N, corpus: 'wmt' }],
  ['nmt float maxUpdates', 'nmt', { ...N, maxUpdates: 1.5 }],
];

/** All inputs, in a stable order. */
export function compatInputs(): CompatInput[] {
  return [...committedInputs(), ...gridInputs(), ...EDGE.map(([source, task, input]) => ({ source: `edge: ${source}`, task, input }))];
}

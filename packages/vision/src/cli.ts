/**
 * Command line for @asam/vision training (application layer: reads argv/env and picks the backend), on the
 * project's CLI convention (@asam/cli):
 *
 *   pnpm --filter @asam/vision train -- --model resnet20 --optimizer asam --rho 0.5 --epochs 1 --train-limit 512 --out runs/x
 *   tsx packages/vision/src/cli.ts --help
 *
 * Data comes from --data-dir, else $ASAM_DATA_DIR, else the per-user cache. A folder that already holds a run is
 * refused unless --resume (continue it from its checkpoint, reusing its config.json, backend and data folder; only --backend, --data-dir and
 * the execution settings --micro-batch, --workers, --progress-every may be given again) or --overwrite (delete it and
 * start again). A finished run is left untouched by --resume. The run folder keeps log.txt (this console output)
 * and env.json (git sha, machine, versions, backend and every backend tried; resumes append to env-resume.jsonl).
 *
 * A front end of `asam train vision` (@asam/cli's runTrainCommand): the task's fields get flags of their own here,
 * the runtime's flags (--out, --epochs, --checkpoint-every, --workers, --micro-batch, --progress-every, --resume,
 * --overwrite, --backend, --data-dir) are the same as for every task and are handed on as they are.
 */
import {
  UsageError, addOption, backendFrom, addSharedOptions, createCommand, givenFlags, parseCommand, nativeKernelsFrom, requireOption, runCli, mirrorFrom,
  type OptionSpec,
} from '@asam/cli';
import { runTrainCommand } from '@asam/cli/train';
import { initEngine, type BackendRequest } from '@asam/engine';
import { ensureDataset, resolveDataDir } from '@asam/data';
import { join } from 'node:path';
import { createTaskRegistry } from '@asam/train';
import { getModelSpec, listModels, VISION_RUNTIME_FIELDS, visionTask, type PartialTrainConfig, type VisionTaskConfig } from './index.ts';

type Target = { top: string } | { opt: string };
interface VisionFlag extends OptionSpec { to: Target }
const top = (k: string): Target => ({ top: k });
const opt = (k: string): Target => ({ opt: k });

/** The training flags: flag → config field, with the default each one has when absent. */
const FLAGS: VisionFlag[] = [
  { flags: '--model <id>', help: 'registry id (see --list-models)', defaultText: 'none, required', to: top('model') },
  { flags: '--dataset <name>', choices: ['cifar10', 'cifar100', 'imagenet'], default: 'cifar10', help: 'imagenet switches the defaults to the ImageNet recipe', to: top('dataset') },
  { flags: '--imagenet-folder <dir>', help: 'ImageNet: folder under the data dir with train/<wnid>/*.JPEG (samples: imagenet-samples)', defaultText: 'imagenet', to: top('imagenetFolder') },
  { flags: '--image-size <px>', kind: 'int', min: 1, help: 'ImageNet: crop size in pixels (e.g. 64 on a CPU)', defaultText: '224', to: top('imageSize') },
  { flags: '--eval-split <split>', choices: ['val', 'train'], help: 'ImageNet: split evaluated each epoch (train for folders without val)', defaultText: 'val', to: top('evalSplit') },
  { flags: '--rho <x>', kind: 'number', min: 0, help: 'neighbourhood radius', defaultText: '0.05 sam, 0.5 asam; ImageNet 0.1 / 1.0', to: opt('rho') },
  { flags: '--eta <x>', kind: 'number', min: 0, help: 'ASAM eta (T_w = |w| + eta)', defaultText: '0.01', to: opt('eta') },
  { flags: '--p <p>', choices: ['2', 'inf'], help: 'norm of the neighbourhood', defaultText: '2', to: opt('p') },
  { flags: '--normalization <kind>', choices: ['elementwise', 'filterwise'], help: 'ASAM normalization operator', defaultText: 'elementwise', to: opt('normalization') },
  { flags: '--weight-decay <x>', kind: 'number', min: 0, help: 'coupled L2', defaultText: '5e-4; ImageNet 1e-4', to: opt('weightDecay') },
  { flags: '--clip-norm <x>', kind: 'number', help: 'global gradient-norm clip', defaultText: 'off', to: opt('clipNorm') },
  { flags: '--every <k>', kind: 'int', min: 1, help: 'sharpness-aware step every k steps', defaultText: '1', to: opt('every') },
  { flags: '--epochs <n>', kind: 'int', min: 1, help: 'passes over the training set', defaultText: '200; ImageNet 100', to: top('epochs') },
  { flags: '--batch-size <n>', kind: 'int', min: 1, help: 'images per step', defaultText: '128; ImageNet 512', to: top('batchSize') },
  { flags: '--eval-batch-size <n>', kind: 'int', min: 1, help: 'images per evaluation batch', defaultText: '256', to: top('evalBatchSize') },
  { flags: '--lr <x>', kind: 'number', help: 'peak learning rate', defaultText: '0.1; ImageNet 0.2', to: top('lr') },
  { flags: '--momentum <x>', kind: 'number', help: 'SGD momentum', defaultText: '0.9', to: top('momentum') },
  { flags: '--schedule <kind>', choices: ['cosine', 'constant'], help: 'learning-rate schedule (cosine: per step)', defaultText: 'cosine', to: top('schedule') },
  { flags: '--label-smoothing <x>', kind: 'number', help: 'label smoothing', defaultText: '0.1', to: top('labelSmoothing') },
  { flags: '--augment <kind>', choices: ['cifar', 'imagenet', 'none'], help: 'cifar: pad 4 + crop + flip; imagenet: random-resized-crop + flip', defaultText: 'cifar; ImageNet imagenet', to: top('augment') },
  { flags: '--cutout <px>', kind: 'int', min: 0, help: 'cutout side in pixels', defaultText: '0', to: top('cutout') },
  { flags: '--dropout <x>', kind: 'number', help: 'dropout rate (WRN only)', defaultText: '0', to: top('dropout') },
  { flags: '--label-noise <rate>', kind: 'number', help: 'label-noise rate in [0,1) on the train labels', defaultText: 'none', to: top('labelNoise') },
  { flags: '--noise-kind <kind>', choices: ['symmetric', 'pairflip'], help: 'label-noise kind', defaultText: 'symmetric', to: top('labelNoise.kind') },
  { flags: '--seed <n>', kind: 'int', min: 0, help: 'seed of init, data order and augmentation', defaultText: '0', to: top('seed') },
  { flags: '--train-limit <n>', kind: 'int', min: 1, help: 'use the first N train images (ImageNet: first N files in (class, file) order)', defaultText: 'all', to: top('trainLimit') },
  { flags: '--test-limit <n>', kind: 'int', min: 1, help: 'use the first N test images', defaultText: 'all', to: top('testLimit') },
  { flags: '--max-steps-per-epoch <n>', kind: 'int', min: 1, help: 'cap steps per epoch', defaultText: 'no cap', to: top('maxStepsPerEpoch') },
  { flags: '--checkpoint-every <n>', kind: 'int', min: 1, help: 'also checkpoint every N steps (always at epoch ends)', defaultText: 'epoch ends only', to: top('checkpointEverySteps') },
  { flags: '--workers <n>', kind: 'int', min: 1, help: 'data-parallel worker threads, one per core (wasm/cpu)', defaultText: '1', to: top('workers') },
  { flags: '--micro-batch <n>', kind: 'int', min: 1, help: 'at most N images per forward/backward pass (gradient accumulation)', defaultText: 'whole batch', to: top('microBatch') },
  { flags: '--progress-every <n>', kind: 'int', min: 1, help: 'progress line every N steps', defaultText: '10', to: top('progressEvery') },
];
/** Flags that may be given again with --resume (they change how a step is computed, not what). */
const RESUME_FLAGS = ['--out', '--resume', '--overwrite', '--backend', '--data-dir', '--no-download', '--mirror', '--micro-batch', '--workers', '--progress-every'];

function command() {
  const cmd = createCommand({
    name: 'pnpm --filter @asam/vision train --',
    description: 'Trains an image classifier with SGD, SAM or ASAM (momentum SGD is the base optimizer) and writes a run folder:\n' +
      'config.json, env.json, log.txt, metrics.csv, result.json, checkpoint.bin.',
    epilog: 'Examples:\n' +
      '  pnpm --filter @asam/vision train -- --model resnet20 --optimizer asam --epochs 1 --train-limit 512 --out runs/x\n' +
      '  pnpm --filter @asam/vision train -- --resume --out runs/x      continue a killed run (same backend, from env.json)\n' +
      'ImageNet: --dataset imagenet reads <data dir>/<--imagenet-folder>/{train,<--eval-split>}/<wnid>/*.JPEG, e.g.\n' +
      '  --dataset imagenet --imagenet-folder imagenet-samples --image-size 64 --eval-split train --model resnet10_tiny\n' +
      'Relative paths (--out, --data-dir, $ASAM_DATA_DIR) are taken from the directory you ran the command in.',
  });
  addSharedOptions(cmd, { out: {}, optimizer: { default: 'asam', help: 'sgd (momentum SGD alone), sam or asam' }, dataDir: true, resume: true, backend: true, download: true });
  for (const f of FLAGS) addOption(cmd, f);
  addOption(cmd, { flags: '--list-models', help: 'print the model registry and exit' });
  return cmd;
}

/** The command that resumes the run in `out`. */
const resumeHint = (out: string): string => `pnpm --filter @asam/vision train -- --resume --out ${out}`;

function configFromFlags(o: Record<string, unknown>, cmd: ReturnType<typeof command>): PartialTrainConfig {
  const c: Record<string, unknown> = {};
  const op: Record<string, unknown> = {};
  for (const f of FLAGS) {
    const key = cmd.options.find((x) => x.long === f.flags.split(' ')[0])!.attributeName();
    const v = o[key];
    if (v === undefined) continue;
    if ('opt' in f.to) op[f.to.opt] = f.to.opt === 'p' && v === '2' ? 2 : v;
    else if (f.to.top === 'labelNoise') c.labelNoise = { kind: 'symmetric', ...(c.labelNoise as object | undefined), rate: v };
    else if (f.to.top === 'labelNoise.kind') c.labelNoise = { ...(c.labelNoise as object | undefined), kind: v };
    else c[f.to.top] = v;
  }
  const method = o.optimizer as string;
  op.method = method === 'sgd' ? 'none' : method;
  c.optimizer = op;
  return c as PartialTrainConfig;
}

/** The flags of the runtime section, passed on to `asam train vision` as they are (the same names). */
const RUNTIME_PASS = ['--out', '--backend', '--native-kernels', '--data-dir', '--epochs', '--checkpoint-every', '--workers', '--micro-batch', '--progress-every'];

/**
 * This CLI is a front end of `asam train vision` (@asam/cli's runTrainCommand, through @asam/train's runTask): it keeps
 * its own flags for the task's fields (`--model`, `--lr`, …) and hands the runtime's flags on as they are.
 */
async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const cmd = command();
  const o = parseCommand(cmd, argv);
  if (o.listModels) {
    for (const s of listModels()) process.stdout.write(`${s.id.padEnd(20)} ${s.description}${s.paperParams ? ` (published ${(s.paperParams / 1e6).toFixed(2)}M params)` : ''}\n`);
    return 0;
  }
  const out = requireOption(o.out as string | undefined, '--out', 'the run folder');
  const resume = o.resume === true;
  if (resume) {
    const extra = givenFlags(cmd).filter((g) => !RESUME_FLAGS.includes(g));
    if (extra.length) throw new UsageError(`--resume reuses ${join(out, 'config.json')}; drop ${extra.join(', ')} (only ${RESUME_FLAGS.slice(3).join(', ')} may be given)`);
  }
  let taskConfig: Record<string, unknown> | undefined;
  if (!resume) {
    const c = configFromFlags(o, cmd);
    requireOption(c.model, '--model', 'see --list-models');
    try {
      getModelSpec(c.model);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const runtimeKeys = new Set<string>(VISION_RUNTIME_FIELDS);
    taskConfig = Object.fromEntries(Object.entries(c).filter(([k]) => !runtimeKeys.has(k)));
  }
  backendFrom(o.backend as string | undefined, env); // a bad $ASAM_BACKEND is reported before any download

  // the runtime's flags as given (paths already resolved), and the run-folder switches
  const given = new Set(givenFlags(cmd));
  const pass: string[] = ['vision'];
  for (const flag of RUNTIME_PASS) {
    if (!given.has(flag) && flag !== '--out') continue;
    const key = cmd.options.find((x) => x.long === flag)!.attributeName();
    pass.push(flag, String(o[key]));
  }
  if (resume) pass.push('--resume');
  if (o.overwrite === true) pass.push('--overwrite');

  return runTrainCommand({
    tasks: createTaskRegistry([visionTask]), name: 'pnpm --filter @asam/vision train --', argv: pass, recordArgv: argv, env,
    programFile: import.meta.url, configNoun: 'image-classification', ...(taskConfig ? { taskConfig } : {}),
    resumeHint,
    describe: (config) => {
      const c = config as VisionTaskConfig;
      return `model ${c.model}; optimizer ${c.optimizer.method === 'none' ? 'sgd' : c.optimizer.method} rho ${c.optimizer.rho}`;
    },
    defaultDataDir: () => resolveDataDir({ env }),
    initEngine: (backend) => initEngine({ backend: backend as BackendRequest, nativeKernels: nativeKernelsFrom(o.nativeKernels as string | undefined, env) }),
    // data on demand: a CIFAR dataset that is not in the data folder is downloaded first (a failed download: no run folder)
    prepareData: async (_spec, config, root) => {
      const dataset = (config as VisionTaskConfig).dataset;
      if (dataset === 'cifar10' || dataset === 'cifar100') {
        await ensureDataset(dataset, root, { allowDownload: o.download !== false, mirror: mirrorFrom(o.mirror as string | undefined, env), sink: process.stdout, tag: '[vision]' });
      }
    },
  });
}

void runCli(() => main(process.argv.slice(2), process.env));

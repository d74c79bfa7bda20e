/**
 * One-off migration (run once, issue 33): rewrites the committed run folders that an image-classification trainer
 * older than @asam/train's runtime wrote into the runtime's layout, so that no reader of the older layouts is needed:
 *
 * - `result.json` `{ status, bestTestAcc, bestEpoch, finalTestAcc, steps, outDir, … }` → `RunResult` (`format: asam-run/1`);
 * - `metrics.csv` without the `step` column → with it (the global step at the end of each epoch);
 * - `config.json` without the fields added since (ASAM's parameter filter, the BatchNorm policy) → resolved by
 *   `resolveConfig`, which adds them at their defaults (what a resume writes; SGD, the one such run, reads neither).
 *
 * Every number is carried over unchanged and cross-checked against metrics.csv before anything is written; the run
 * must be finished. A translation result.json of the older layout (`bestValidBleu`…) is refused: none was committed.
 * Folders already in the runtime's layout are left alone, so a second run changes nothing.
 *
 *   node --import tsx benchmarks/scripts/migrate-legacy-results.ts [benchmarks/results]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDiff, metricsCsv, RUN_RESULT_FORMAT, type MetricsRow, type RunResult } from '@asam/train';
import { resolveConfig } from '@asam/vision';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results'));

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
const writeJson = (f: string, v: unknown) => fs.writeFileSync(f, JSON.stringify(v, null, 2) + '\n');

function check(ok: boolean, dir: string, what: string): void {
  if (!ok) throw new Error(`${dir}: ${what}; nothing in this folder was changed`);
}

function cellFolders(dir: string): string[] {
  const here = fs.existsSync(path.join(dir, 'cell.json')) ? [dir] : [];
  const subs = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  return [...here, ...subs.sort().flatMap(cellFolders)];
}

/** metrics.csv rows (every cell a number; an empty cell is left out of its row). */
function readRows(dir: string): MetricsRow[] {
  const [head, ...lines] = fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').split('\n').filter((l) => l !== '');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').flatMap((v, i) => (v === '' ? [] : [[cols[i]!, Number(v)]]))));
}

function migrate(dir: string): string[] {
  const old = readJson(path.join(dir, 'result.json'));
  if (old.format === RUN_RESULT_FORMAT) return [];
  const cell = readJson(path.join(dir, 'cell.json')) as { task?: string };
  if (cell.task !== 'vision' && cell.task !== 'nmt') return []; // analysis cells have result.json files of their own
  check(cell.task === 'vision' && 'bestTestAcc' in old, dir, `result.json is an older ${cell.task} layout this one-off script does not convert`);
  check(old.status === 'completed' && old.epochsCompleted === old.epochs, dir, `the run is not finished (status ${String(old.status)})`);

  const saved = readJson(path.join(dir, 'config.json'));
  const config = resolveConfig(saved as never) as unknown as Record<string, unknown>;
  const added = configDiff(saved, config);
  check(added.every((d) => / vs /.test(d) && d.split(': ')[1]!.startsWith('undefined vs ')), dir, `config.json resolves differently: ${added.join('; ')}`);

  const epochs = old.epochsCompleted as number;
  const steps = old.steps as number;
  const stepsPerEpoch = steps / epochs;
  check(stepsPerEpoch === Math.ceil((old.trainImages as number) / (config.batchSize as number)), dir,
    `${steps} steps in ${epochs} epochs is not ceil(trainImages / batchSize) steps per epoch`);
  const rows: MetricsRow[] = readRows(dir).map(({ epoch, ...rest }) => ({ epoch: epoch!, step: epoch! * stepsPerEpoch, ...rest }));
  check(rows.length === epochs && rows.every((r, i) => r.epoch === i + 1), dir, `metrics.csv does not hold one row per epoch 1..${epochs}`);
  const last = rows[rows.length - 1]!;
  const best = rows.reduce((b, r) => (r.test_acc! > b.test_acc! ? r : b));
  check(best.epoch === old.bestEpoch && best.test_acc === old.bestTestAcc, dir, `bestTestAcc ${String(old.bestTestAcc)} at epoch ${String(old.bestEpoch)} is not metrics.csv's first best test_acc`);
  check(last.test_acc === old.finalTestAcc && last.test_loss === old.finalTestLoss, dir, 'finalTestAcc / finalTestLoss are not metrics.csv\'s last row');
  check(old.finalTestTop5 == null && old.bestTestTop5 == null && old.divergedAt == null, dir, 'top-5 or divergence fields are set, which this script does not carry over');

  const result: RunResult = {
    format: RUN_RESULT_FORMAT,
    status: 'completed',
    epochs: old.epochs as number,
    epochsCompleted: epochs,
    steps,
    best: { metric: 'test_acc', value: old.bestTestAcc as number, epoch: old.bestEpoch as number },
    final: { metric: 'test_acc', value: old.finalTestAcc as number },
    last,
    test: null,
    wallSeconds: old.wallSeconds as number,
    meanStepSeconds: old.meanStepSeconds as number,
    trainableParams: old.trainableParams as number,
    backend: old.backend as string,
    resumedFrom: old.resumedFrom as RunResult['resumedFrom'],
    divergedAt: null,
    out: old.outDir as string,
    task: {
      kind: 'image-classification', model: old.model, dataset: config.dataset, method: old.method, rho: old.rho,
      numClasses: old.numClasses, trainImages: old.trainImages, evalImages: old.evalImages, stepsPerEpoch,
    },
  };
  writeJson(path.join(dir, 'result.json'), result);
  fs.writeFileSync(path.join(dir, 'metrics.csv'), metricsCsv(rows));
  if (added.length) writeJson(path.join(dir, 'config.json'), config);
  return [`result.json → ${RUN_RESULT_FORMAT}`, 'metrics.csv + step column', ...(added.length ? [`config.json + ${added.map((d) => d.split(':')[0]).join(', ')}`] : [])];
}

let changed = 0;
for (const dir of cellFolders(root)) {
  if (!fs.existsSync(path.join(dir, 'result.json'))) continue;
  const done = migrate(dir);
  if (done.length) { changed++; console.log(`${path.relative(process.cwd(), dir)}: ${done.join('; ')}`); }
}
console.log(`${changed} run folder(s) migrated under ${root}`);

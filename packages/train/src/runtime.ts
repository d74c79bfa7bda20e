/**
 * The training runtime: one loop for every task (image classification, translation) and every method (SGD/Adam,
 * SAM, ASAM — one code path through @asam/core's sharpness-aware optimizer).
 *
 * Per global step t, with lr_t from the schedule: the task's batch t (a function of seed, epoch and step only), cut into
 * micro-batches (`microBatch` rows each) or worker shards (`workers`), and
 *   w ← SharpnessAware(base)(∇L at w + ε(w)),  L = mean task loss of the batch,
 * where ε is 0, ρ g/‖g‖ (SAM) or ρ T_w² g/‖T_w g‖ (ASAM). After each epoch the task evaluates; the runtime keeps the
 * best epoch by the task's `bestMetric`.
 *
 * The run folder (see run-folder.ts): config.json, metrics.csv, result.json, checkpoint.bin (every epoch, every
 * `checkpointEverySteps` steps and when `shouldStop` asks), held by one process at a time (run.lock, see run-lock.ts:
 * a second process is refused while the first trains). Resume policy, the same for every task: a folder with a
 * checkpoint is resumed ('auto'), refused ('never') or required ('require'); its config.json must equal the new config
 * except for the task's execution-only fields (how a step is computed or how long to run, never what it computes).
 * A resumed run takes the same batches and ends bit-identical to an uninterrupted one on a deterministic backend.
 * Divergence: a non-finite training loss, evaluation loss or weight stops the run with status 'diverged' and leaves
 * the last good checkpoint in place.
 */
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointTensorInput } from './checkpoint.ts';
import type { TrainProgress } from './progress.ts';
import { configDiff, RUN_RESULT_FORMAT, RunFolder, type MetricsRow, type RunResult } from './run-folder.ts';
import { acquireRunLock } from './run-lock.ts';
import type { Schedule } from './schedules.ts';
import type { MetricVocabulary } from './task-spec.ts';
import type { Batch, ForwardResult, TrainingTask } from './task.ts';
import { createDataParallel, sliceBounds, sliceTensors, type DataParallel } from './workers/data-parallel.ts';

/** A run folder that cannot be started or resumed as asked (a user error: the message says what to do). */
export class ResumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResumeError';
  }
}

/** What to do with a run folder that already holds a checkpoint. */
export type ResumePolicy = 'auto' | 'never' | 'require';

/** Options of {@link train}. */
export interface TrainOptions {
  /** The run folder. */
  out: string;
  /** The task's resolved config: written to config.json, compared with it on resume. */
  config: unknown;
  /** Fills in a saved config.json (written by an older version) the way the task resolves configs; default: as read. */
  resolveSaved?: (saved: unknown) => unknown;
  /**
   * Config fields that may differ on resume: they change how a step is computed or how long to run. A top-level name
   * (`workers`) or a dotted path (`runtime.workers`).
   */
  executionFields?: readonly string[];
  /** The registered task this run trains (see `runTask`): result.json then carries its id (`taskId`) and metric vocabulary (`metrics`). */
  spec?: { id: string; metrics: MetricVocabulary };
  /** Default 'auto'. */
  resume?: ResumePolicy;
  /** Epochs to run, and optionally a cap on steps (the run then ends after evaluating where the cap falls). */
  epochs: number;
  maxSteps?: number | null;
  schedule: Schedule;
  /** Rows per micro-batch (gradient accumulation); null = the whole batch in one pass. */
  microBatch?: number | null;
  /** Data-parallel worker threads (wasm/cpu backends, tasks with a `replica`); default 1. */
  workers?: number;
  checkpointEverySteps?: number | null;
  /** A progress report every N steps; default 10. */
  progressEvery?: number;
  /** Backend name recorded in result.json (the caller chose it). */
  backend?: string | null;
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (row: MetricsRow) => void;
  /** Events worth a line in the log (resume, stop, divergence). */
  onLog?: (message: string) => void;
  /** Asked after every step: true writes a checkpoint there and returns with status 'stopped'. */
  shouldStop?: () => boolean;
  /** Makes an error of a step (e.g. out of memory) say what to do; default: the error as it is. */
  explainStepError?: (e: unknown, batch: Batch) => Error;
}

/** The runtime's state in a checkpoint (`meta`). */
export interface RuntimeState {
  runtime: 1;
  /** Epoch in progress (0-based) and the number of its steps taken. */
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  rows: MetricsRow[];
  /** Running sums of the epoch in progress. */
  epochLossSum: number;
  epochWeight: number;
  epochSums: Record<string, number>;
  epochTrainSeconds: number;
  wallSeconds: number;
  stepSecondsSum: number;
  stepsTimed: number;
  best: { epoch: number; value: number } | null;
}

function freshState(): RuntimeState {
  return {
    runtime: 1, epoch: 0, stepInEpoch: 0, globalStep: 0, rows: [], epochLossSum: 0, epochWeight: 0, epochSums: {},
    epochTrainSeconds: 0, wallSeconds: 0, stepSecondsSum: 0, stepsTimed: 0, best: null,
  };
}

/**
 * The runtime state of a checkpoint's `meta`. Only this runtime's (`runtime: 1`) is read: the states of the trainers
 * before it are not converted, and a checkpoint of theirs is refused.
 */
export function runtimeStateOf(meta: unknown): RuntimeState {
  const m = meta as Record<string, unknown> | null;
  if (m?.runtime === 1) return m as unknown as RuntimeState;
  const found = m !== null && typeof m === 'object' ? `fields ${Object.keys(m).slice(0, 6).join(', ') || 'none'}` : JSON.stringify(m);
  throw new Error(`checkpoint: its state has no "runtime": 1 (found ${found}; an older trainer's state is no longer read)`);
}

/**
 * Evaluations still to come: one per epoch left, but no more than the step cap leaves room for (a cap that falls inside
 * an epoch ends the run after one more evaluation). `stepsPerEpoch` is the current epoch's.
 */
export function evaluationsLeft(o: { epochsLeft: number; stepsLeft: number; stepsPerEpoch: number; stepInEpoch: number }): number {
  if (o.epochsLeft <= 0 || o.stepsLeft <= 0) return 0;
  const spe = Math.max(1, o.stepsPerEpoch);
  // the epoch in progress ends after (spe - stepInEpoch) steps; each further evaluation takes a whole epoch
  const first = spe - o.stepInEpoch;
  const byCap = o.stepsLeft <= first ? 1 : 1 + Math.ceil((o.stepsLeft - first) / spe);
  return Math.min(o.epochsLeft, byCap);
}

/** Host copies of named tensors, and whether every value is finite. */
async function hostCopy(list: ReadonlyArray<{ name: string; tensor: tf.Tensor }>): Promise<{ tensors: CheckpointTensorInput[]; finite: boolean }> {
  let finite = true;
  const tensors: CheckpointTensorInput[] = [];
  for (const { name, tensor } of list) {
    const raw = await tensor.data();
    const data = tensor.dtype === 'int32' ? Int32Array.from(raw as Int32Array) : Float32Array.from(raw as Float32Array);
    if (data instanceof Float32Array) for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i] as number)) { finite = false; break; }
    tensors.push({ name, shape: tensor.shape.slice(), data });
  }
  return { tensors, finite };
}

/**
 * Trains `task` in run folder `o.out` (see the module comment); returns what result.json holds.
 * The task's model and optimizer stay the caller's (not disposed here).
 */
export async function train(task: TrainingTask, o: TrainOptions): Promise<RunResult> {
  // combinations the step cannot honour, refused before the run folder is touched
  if ((o.workers ?? 1) > 1 && o.microBatch != null) {
    throw new Error(`workers = ${o.workers} with microBatch = ${o.microBatch}: each worker takes one shard of the batch in one pass; set microBatch null, or use workers 1 with microBatch`);
  }
  if (task.optimizer.config.microBatches !== 1) {
    throw new Error(`optimizer microBatches = ${task.optimizer.config.microBatches}: the runtime cuts each batch itself (its microBatch option, rows per micro-batch); leave microBatches out of the optimizer config and set microBatch`);
  }
  const out = o.out;
  await mkdir(out, { recursive: true });
  // one process trains a folder at a time (a CLI or sweep runner that already holds the lock passes it on), and
  // one train() call in it
  const lock = acquireRunLock(out, 'training', { sole: true });
  try {
    return await trainIn(task, o, out);
  } finally {
    lock.release();
  }
}

async function trainIn(task: TrainingTask, o: TrainOptions, out: string): Promise<RunResult> {
  const folder = new RunFolder(out);
  const ckptPath = folder.checkpointPath;
  const configPath = folder.file('config.json');
  const resume = o.resume ?? 'auto';
  const hasCkpt = folder.hasCheckpoint();
  const log = (m: string): void => o.onLog?.(m);
  if (hasCkpt && resume === 'never') throw new ResumeError(`${ckptPath} exists; resume it, or choose another output directory`);
  if (!hasCkpt && resume === 'require') throw new ResumeError(`cannot resume: no checkpoint at ${ckptPath}`);
  const savedText = hasCkpt ? folder.readConfigText() : null;
  if (savedText !== null) {
    let raw: unknown;
    try {
      raw = JSON.parse(savedText);
    } catch (e) {
      throw new ResumeError(`${configPath} is not valid JSON (${(e as Error).message}): the file is damaged; fix: start the run again in a new output directory (or --overwrite)`);
    }
    const saved = (o.resolveSaved ?? ((x: unknown) => x))(raw);
    const diff = configDiff(saved, o.config, o.executionFields ?? []);
    if (diff.length) throw new ResumeError(`cannot resume ${out}: its config.json differs from this config (${diff.join('; ')}); use the same settings or a new output directory`);
  }

  const { model, optimizer: opt } = task;
  const split = task.evalSplit;
  const bestColumn = `${split}_${task.bestMetric}`;
  const stepsPerEpoch0 = task.stepsPerEpoch(0);
  const totalSteps = o.maxSteps ?? o.epochs * stepsPerEpoch0;
  const progressEvery = o.progressEvery ?? 10;
  const microBatch = o.microBatch ?? null;
  const workers = o.workers ?? 1;

  let st = freshState();
  let resumedFrom: RunResult['resumedFrom'] = null;
  if (hasCkpt) {
    const fix = `fix: remove ${path.basename(ckptPath)} (the run then starts again from its first step with the same config), or start the run again in a new output directory (or --overwrite)`;
    let ck: Checkpoint<unknown>;
    try {
      ck = await readCheckpoint(ckptPath);
    } catch (e) {
      throw new ResumeError(`${(e as Error).message.replace(/;? ?(delete it or point the run at another folder|it was not written by a completed save)$/, '')}; ${fix}`);
    }
    const byName = new Map((ck.groups.model ?? []).map((t) => [t.name, t]));
    for (const { name, variable } of model.variables) {
      const t = byName.get(name);
      if (!t) throw new ResumeError(`${ckptPath}: no tensor '${name}' (a checkpoint of another model?); ${fix}`);
      if (t.data.length !== variable.size) throw new ResumeError(`${ckptPath}: tensor '${name}' has ${t.data.length} values, the model needs ${variable.size} (a checkpoint of another model?); ${fix}`);
      tf.tidy(() => variable.assign(tf.tensor(t.data as Float32Array, variable.shape, variable.dtype)));
    }
    const ow = (ck.groups.optimizer ?? []).map((t) => ({ name: t.name, tensor: tf.tensor(t.data as Float32Array | Int32Array, t.shape, t.dtype === 'bool' ? 'bool' : t.dtype) }));
    await opt.setWeights(ow);
    tf.dispose(ow.map((w) => w.tensor));
    try {
      st = runtimeStateOf(ck.meta);
    } catch (e) {
      throw new ResumeError(`${ckptPath}: ${(e as Error).message.replace(/^checkpoint: /, '')} (a checkpoint of another program?); ${fix}`);
    }
    resumedFrom = { epoch: st.epoch, step: st.stepInEpoch };
    log(`resumed from ${ckptPath}: epoch ${st.epoch + 1}, step ${st.stepInEpoch} of it (global step ${st.globalStep})`);
  }

  // written once the checkpoint (if any) has loaded: a resume that fails leaves the folder as it was
  await folder.writeConfig(o.config);

  const wallStart = performance.now() - st.wallSeconds * 1000;
  const nowWall = (): number => (performance.now() - wallStart) / 1000;

  const result = (status: RunResult['status'], divergedAt: RunResult['divergedAt'], test: RunResult['test'] = null,
    final: RunResult['final'] = null): RunResult => {
    const last = st.rows[st.rows.length - 1] ?? null;
    const lastBest = last?.[bestColumn];
    return {
      format: RUN_RESULT_FORMAT, status, epochs: o.epochs, epochsCompleted: st.rows.length, steps: st.globalStep,
      best: st.best === null ? null : { metric: bestColumn, value: st.best.value, epoch: st.best.epoch },
      final: final ?? (typeof lastBest === 'number' ? { metric: bestColumn, value: lastBest } : null),
      last, test, wallSeconds: nowWall(), meanStepSeconds: st.stepsTimed ? st.stepSecondsSum / st.stepsTimed : null,
      trainableParams: model.trainableParams, backend: o.backend ?? null, resumedFrom, divergedAt, out, task: task.summary(),
      ...(o.spec ? { taskId: o.spec.id, metrics: o.spec.metrics } : {}),
    };
  };
  const writeResult = async (r: RunResult): Promise<RunResult> => {
    await folder.writeResult(r);
    return r;
  };
  await writeResult(result('running', null));

  /** Writes the checkpoint; false (nothing written) when a weight is not finite. */
  const saveCheckpoint = async (): Promise<boolean> => {
    const m = await hostCopy(model.variables.map((v) => ({ name: v.name, tensor: v.variable })));
    if (!m.finite) return false;
    const ow = await opt.getWeights();
    try {
      const os = await hostCopy(ow.map((w) => ({ name: w.name, tensor: w.tensor })));
      st.wallSeconds = nowWall();
      await writeCheckpoint(ckptPath, st, { model: m.tensors, optimizer: os.tensors });
    } finally {
      // getWeights returns live state variables plus fresh scalars (iteration counters): free only the latter
      tf.dispose(ow.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
    }
    return true;
  };
  const diverged = async (epoch: number, step: number, loss: number): Promise<RunResult> => {
    log(`non-finite ${Number.isNaN(loss) ? 'loss or weights' : `loss ${loss}`} at epoch ${epoch + 1}, step ${step}: stopping with status 'diverged' (the last good checkpoint stays)`);
    return writeResult(result('diverged', { epoch, step, loss }));
  };

  let parallel: DataParallel | null = null;
  try {
    if (workers > 1) {
      const backend = tf.getBackend();
      if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`workers = ${workers} needs the wasm or cpu backend (worker threads each run their own); this run is on '${backend}': use workers 1`);
      if (!task.replica) throw new Error(`workers = ${workers}: this task has no replica module for worker threads; use workers 1`);
      parallel = await createDataParallel(model, opt, task.replica, workers, backend);
    }

    /** One step on `batch`: the clean pass's mean loss and metric sums. */
    const step = async (batch: Batch): Promise<{ loss: number; sums: Record<string, number> }> => {
      if (parallel !== null) return parallel.step(batch, st.globalStep);
      const n = batch.rows;
      const parts = microBatch === null ? 1 : Math.min(n, Math.ceil(n / microBatch));
      if (opt.config.microBatches !== parts) opt.setMicroBatches(parts);
      const cleanSums: Array<Record<string, tf.Scalar>> = [];
      let lossT: tf.Scalar | null = null;
      try {
        // the optimizer's step calls this once per slice and pass, and says which (no counting of calls here)
        lossT = opt.minimize((part, pass) => {
          const k = part?.index ?? 0;
          const ctx = { step: st.globalStep, pass, part: k, parts: part?.count ?? 1 };
          let r: ForwardResult;
          let scale = 1;
          if (part === undefined) {
            r = model.forward(batch.tensors, ctx);
          } else {
            // slice k of K: its mean loss enters as (its weight · K / the batch's weight), so the mean over slices is the batch's
            const [lo, hi] = sliceBounds(n, part.count)[k]!;
            const slice = sliceTensors(batch.tensors, lo, hi);
            scale = (model.weightOf(slice) * part.count) / batch.weight;
            r = model.forward(slice, ctx);
          }
          if (pass === 'clean' && r.sums) cleanSums.push(Object.fromEntries(Object.entries(r.sums).map(([name, v]) => [name, tf.keep(v)])));
          return scale === 1 ? r.loss : tf.mul(r.loss, scale) as tf.Scalar;
        }, true, model.trainable);
        const loss = (await lossT!.data())[0] as number;
        const sums: Record<string, number> = {};
        for (const s of cleanSums) for (const [name, v] of Object.entries(s)) sums[name] = (sums[name] ?? 0) + ((await v.data())[0] as number);
        return { loss, sums };
      } finally {
        lossT?.dispose();
        for (const s of cleanSums) tf.dispose(Object.values(s));
      }
    };

    const epochMetrics = (): Record<string, number> =>
      Object.fromEntries(Object.entries(st.epochSums).map(([k, v]) => [k, v / Math.max(1e-12, st.epochWeight)]));
    const maxStepsReached = (): boolean => o.maxSteps !== undefined && o.maxSteps !== null && st.globalStep >= o.maxSteps;
    /** Seconds of the last evaluation (this process), for the time left; 0 before the first. */
    let lastEvalSeconds = 0;
    /** Time left: the steps to the cap or the last epoch at the mean step time, plus the evaluations still to come. */
    const etaSeconds = (stepsPerEpoch: number): number => {
      const stepsLeft = Math.max(0, Math.min(totalSteps, st.globalStep + (o.epochs - st.epoch) * stepsPerEpoch - st.stepInEpoch) - st.globalStep);
      const evals = evaluationsLeft({ epochsLeft: o.epochs - st.epoch, stepsLeft, stepsPerEpoch, stepInEpoch: st.stepInEpoch });
      return (st.stepsTimed ? st.stepSecondsSum / st.stepsTimed : 0) * stepsLeft + lastEvalSeconds * evals;
    };

    while (st.epoch < o.epochs && !maxStepsReached()) {
      const epoch = st.epoch;
      const stepsPerEpoch = task.stepsPerEpoch(epoch);
      let lr = o.schedule(st.globalStep, totalSteps);
      if (st.stepInEpoch < stepsPerEpoch) {
        for await (const batch of task.batches(epoch, st.stepInEpoch)) {
          const t0 = performance.now();
          lr = o.schedule(st.globalStep, totalSteps);
          opt.setLearningRate(lr);
          let r: { loss: number; sums: Record<string, number> };
          try {
            r = await step(batch);
          } catch (e) {
            throw o.explainStepError ? o.explainStepError(e, batch) : e;
          } finally {
            tf.dispose(Object.values(batch.tensors));
          }
          const dt = (performance.now() - t0) / 1000;
          if (!Number.isFinite(r.loss)) return await diverged(epoch, st.stepInEpoch, r.loss);
          st.epochLossSum += r.loss * batch.weight;
          st.epochWeight += batch.weight;
          for (const [k, v] of Object.entries(r.sums)) st.epochSums[k] = (st.epochSums[k] ?? 0) + v;
          st.epochTrainSeconds += dt;
          st.stepSecondsSum += dt;
          st.stepsTimed++;
          st.stepInEpoch++;
          st.globalStep++;
          const done = st.stepInEpoch >= stepsPerEpoch || maxStepsReached();
          if (o.onProgress && (done || st.stepInEpoch % progressEvery === 0)) {
            o.onProgress({
              phase: 'train', epoch, epochs: o.epochs, step: st.stepInEpoch, stepsPerEpoch, globalStep: st.globalStep, totalSteps,
              loss: st.epochLossSum / st.epochWeight, train: epochMetrics(), lr, unit: task.unit,
              perSecond: st.epochWeight / Math.max(1e-9, st.epochTrainSeconds),
              etaSeconds: etaSeconds(stepsPerEpoch),
            });
          }
          if (done) break;
          if (o.checkpointEverySteps != null && st.globalStep % o.checkpointEverySteps === 0) {
            if (!(await saveCheckpoint())) return await diverged(epoch, st.stepInEpoch, NaN);
          }
          if (o.shouldStop?.()) {
            if (!(await saveCheckpoint())) return await diverged(epoch, st.stepInEpoch, NaN);
            log(`stop requested: checkpoint at epoch ${epoch + 1}, step ${st.stepInEpoch} (global ${st.globalStep}); the run resumes from it`);
            return await writeResult(result('stopped', null));
          }
        }
      }

      // ---- end of the epoch (or of the step cap): evaluation, best epoch, metrics, checkpoint
      const te0 = performance.now();
      const ev = await task.evaluate(epoch);
      const evalSeconds = (performance.now() - te0) / 1000;
      lastEvalSeconds = evalSeconds;
      const evalLoss = ev.metrics.loss;
      if (evalLoss !== undefined && evalLoss !== null && !Number.isFinite(evalLoss)) return await diverged(epoch, st.stepInEpoch, evalLoss);
      const row: MetricsRow = {
        epoch: epoch + 1, step: st.globalStep, lr,
        train_loss: st.epochLossSum / Math.max(1e-12, st.epochWeight),
        ...Object.fromEntries(Object.entries(epochMetrics()).map(([k, v]) => [`train_${k}`, v])),
        ...Object.fromEntries(Object.entries(ev.metrics).map(([k, v]) => [`${split}_${k}`, v])),
        seconds: st.epochTrainSeconds + evalSeconds,
        [`${task.unit}_per_sec`]: st.epochWeight / Math.max(1e-9, st.epochTrainSeconds),
      };
      const value = row[bestColumn];
      if (typeof value === 'number' && (st.best === null || value > st.best.value)) {
        st.best = { epoch: epoch + 1, value };
        await ev.save?.('best');
      }
      await ev.save?.('last');
      const trainMetrics = epochMetrics();
      st.rows.push(row);
      st.epoch++;
      st.stepInEpoch = 0;
      st.epochLossSum = 0; st.epochWeight = 0; st.epochSums = {}; st.epochTrainSeconds = 0;
      await folder.writeMetrics(st.rows);
      if (!(await saveCheckpoint())) { st.rows.pop(); return await diverged(epoch, stepsPerEpoch, NaN); }
      // a running folder's result.json follows its checkpoint (epochs completed, best so far), not its start
      await writeResult(result('running', null));
      o.onEpoch?.(row);
      o.onProgress?.({
        phase: 'epoch_end', epoch, epochs: o.epochs, step: stepsPerEpoch, stepsPerEpoch, globalStep: st.globalStep, totalSteps,
        loss: row.train_loss as number, train: trainMetrics,
        lr, unit: task.unit, perSecond: row[`${task.unit}_per_sec`] as number,
        etaSeconds: etaSeconds(task.stepsPerEpoch(Math.min(st.epoch, o.epochs - 1))),
      });
      if (maxStepsReached()) break;
      if (st.epoch < o.epochs && o.shouldStop?.()) {
        log(`stop requested: checkpoint at the end of epoch ${epoch + 1}; the run resumes from it`);
        return await writeResult(result('stopped', null));
      }
    }

    const test = task.finalTest ? await task.finalTest(st.best === null ? null : { epoch: st.best.epoch }) : null;
    return await writeResult(result('completed', null, test?.metrics ?? null,
      test ? { metric: `test_${test.headline}`, value: test.metrics[test.headline]! } : null));
  } finally {
    await parallel?.close();
    // the optimizer leaves as it came: micro-batching is this run's, not the optimizer's
    if (opt.config.microBatches !== 1) opt.setMicroBatches(1);
  }
}

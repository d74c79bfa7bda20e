/**
 * Data-parallel training over worker_threads: one model replica per worker (each with its own
 * tfjs engine and wasm instance, i.e. its own core), gradients averaged every step.
 *
 * tfjs-wasm runs single-threaded in Node (its threaded build is disabled there), so one
 * process uses one core; separate workers each keep full speed.
 *
 * Step protocol: the main thread sends each worker its shard; each replica computes its
 * gradient g_k (by default `tf.variableGrads` of its loss; a replica may supply its own, e.g. a
 * sharpness-aware gradient, which then uses per-shard perturbations = m-sharpness with m =
 * workers, as in Foret et al. 2021 §4); the main thread averages ḡ = (1/K) Σ_k g_k and sends ḡ
 * back; every replica applies ḡ with its own optimizer. All replicas start from the same weights
 * and apply the same update with the same kernels, so their weights stay bitwise identical
 * (checked by `checkSync`). State that is not trained by gradients (BatchNorm moving statistics)
 * is per replica: it sees only its shard.
 *
 * Replicas with `perturb`/`restore` (see data-parallel-worker.ts) take exact sharpness-aware steps
 * in two rounds: ḡ from the clean pass is sent back, every replica computes the same ε(ḡ), takes its
 * shard's gradient at w + ε and restores w, and the mean of those is applied. That is SAM/ASAM on the
 * whole batch (as @asam/core's `microBatches` with one micro-batch per worker), not m-sharpness.
 */
import { createWorkerPool } from './worker-pool.ts';

/** A tensor as plain data (what crosses the thread boundary). */
export interface TensorData { values: Float32Array | Int32Array; shape: number[]; dtype: 'float32' | 'int32' }
/** One shard of a batch: named tensors handed to the replica's loss. */
export type Shard = Record<string, TensorData>;

/** Options of {@link createDataParallel}. */
export interface DataParallelOptions {
  /** Module (file URL) exporting `createReplica(options)`: see replica contract in data-parallel-worker.ts. */
  replica: URL;
  /** Passed to `createReplica` in every worker (structured-cloneable). */
  replicaOptions?: unknown;
  /** Number of workers (≥ 1); one per core is the intended use. */
  workers: number;
  /** Backend of every worker; default 'wasm'. */
  backend?: 'wasm' | 'cpu';
}

/** A running data-parallel trainer. */
export interface DataParallelTrainer {
  readonly workers: number;
  /** Whether replicas take two-round (sharpness-aware) steps (they define perturb/restore). */
  readonly twoRound: boolean;
  /**
   * One synchronous step over `shards` (one per worker); resolves to the mean shard loss at w (and,
   * for two-round replicas, the mean loss at w + ε).
   */
  step(shards: Shard[]): Promise<{ loss: number; losses: number[]; perturbedLoss?: number }>;
  /** Trainable weights of worker `index` (default 0), by variable order. */
  getWeights(index?: number): Promise<Float32Array[]>;
  /** Throws if any replica's weights differ from worker 0's (bitwise). */
  checkSync(): Promise<void>;
  /** Terminates the workers. */
  close(): Promise<void>;
}

/**
 * Starts `workers` replicas and returns a trainer whose `step` runs them in parallel and
 * averages their gradients. Replicas must build identical initial weights (seeded init).
 */
export async function createDataParallel(opts: DataParallelOptions): Promise<DataParallelTrainer> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) {
    throw new Error(`createDataParallel: workers must be an integer >= 1, got ${opts.workers}; use one per CPU core.`);
  }
  const backend = opts.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`createDataParallel: backend '${String(backend)}' is not supported; valid: wasm, cpu.`);
  const pool = await createWorkerPool({
    module: new URL('./data-parallel-worker.ts', import.meta.url), workers: opts.workers, backend,
    options: { replica: opts.replica.href, options: opts.replicaOptions },
  });
  let twoRound = false;
  try {
    const inits = await pool.all<{ twoRound: boolean }>('init', () => null);
    twoRound = inits[0]!.twoRound;
  } catch (e) {
    await pool.close();
    throw e;
  }
  const channels = Array.from({ length: opts.workers }, (_, i) => ({
    call: <T>(type: string, payload: unknown): Promise<T> => pool.call<T>(i, type, payload),
  }));

  /** Element-wise mean of the replicas' gradients. */
  const average = (results: { grads: Float32Array[] }[]): Float32Array[] => {
    const first = results[0]!.grads;
    const mean = first.map((g) => new Float32Array(g.length));
    for (const r of results) {
      if (r.grads.length !== first.length) throw new Error('DataParallelTrainer.step: replicas returned different numbers of gradients.');
      r.grads.forEach((g, i) => {
        const m = mean[i]!;
        for (let j = 0; j < g.length; j++) m[j] = (m[j] as number) + (g[j] as number);
      });
    }
    const k = results.length;
    for (const m of mean) for (let j = 0; j < m.length; j++) m[j] = (m[j] as number) / k;
    return mean;
  };

  const trainer: DataParallelTrainer = {
    workers: opts.workers,
    twoRound,
    async step(shards) {
      if (shards.length !== channels.length) {
        throw new Error(`DataParallelTrainer.step: got ${shards.length} shards for ${channels.length} workers; pass exactly one shard per worker.`);
      }
      const results = await Promise.all(channels.map((c, k) =>
        c.call<{ loss: number; grads: Float32Array[] }>('grad', { shard: shards[k], keep: twoRound })));
      const k = results.length;
      const losses = results.map((r) => r.loss);
      const loss = losses.reduce((a, b) => a + b, 0) / k;
      if (!twoRound) {
        await Promise.all(channels.map((c) => c.call('apply', average(results))));
        return { loss, losses };
      }
      const clean = average(results);
      const perturbed = await Promise.all(channels.map((c) => c.call<{ loss: number; grads: Float32Array[] }>('perturbedGrad', clean)));
      await Promise.all(channels.map((c) => c.call('apply', average(perturbed))));
      return { loss, losses, perturbedLoss: perturbed.reduce((a, r) => a + r.loss, 0) / k };
    },
    getWeights(index = 0) {
      const c = channels[index];
      if (c === undefined) throw new Error(`getWeights: worker index ${index} out of range [0, ${channels.length}).`);
      return c.call<Float32Array[]>('weights', null);
    },
    async checkSync() {
      const all = await Promise.all(channels.map((c) => c.call<Float32Array[]>('weights', null)));
      const ref = all[0]!;
      all.forEach((ws, k) => ws.forEach((w, i) => {
        const r = ref[i]!;
        for (let j = 0; j < w.length; j++) {
          if (!Object.is(w[j], r[j])) throw new Error(`Replica ${k} weight ${i}[${j}] = ${w[j]} differs from replica 0 (${r[j]}).`);
        }
      }));
    },
    async close() {
      await pool.close();
    },
  };
  return trainer;
}

/** Splits the leading axis of a batch into `parts` equal shards (the batch size must divide). */
export function splitBatch(batch: Shard, parts: number): Shard[] {
  const shards: Shard[] = Array.from({ length: parts }, () => ({}));
  for (const [name, t] of Object.entries(batch)) {
    const n = t.shape[0] ?? 0;
    if (n % parts !== 0) throw new Error(`splitBatch: '${name}' has ${n} rows, not divisible into ${parts} shards; use a batch size that is a multiple of the worker count.`);
    const rows = n / parts;
    const per = t.values.length / n;
    for (let k = 0; k < parts; k++) {
      shards[k]![name] = { values: t.values.slice(k * rows * per, (k + 1) * rows * per), shape: [rows, ...t.shape.slice(1)], dtype: t.dtype };
    }
  }
  return shards;
}

/**
 * A pool of worker_threads, each with its own tfjs engine (one wasm instance = one core), running
 * the handlers of a module you name. The building block of the data-parallel trainers.
 *
 * Handler contract — the module named by `module` exports
 *
 *   createHandlers(options): Record<string, (payload) => unknown | Promise<unknown>>
 *
 * called once per worker after `initEngine({ backend })`. A handler's return value is sent back
 * (structured clone); return `transferring(result, buffers)` to move buffers instead of copying them. Errors thrown by a handler reject the caller's promise with the message.
 */
import { Worker } from 'node:worker_threads';
import { nativeKernels } from '@asam/engine';
import { siblingModule } from '../module-url.ts';

/** Options of {@link createWorkerPool}. */
export interface WorkerPoolOptions {
  /** Module (file URL) exporting `createHandlers(options)`. */
  module: URL;
  /** Passed to `createHandlers` in every worker (structured-cloneable). */
  options?: unknown;
  /** Number of workers (≥ 1); one per core is the intended use. */
  workers: number;
  /** Backend of every worker; default 'wasm'. */
  backend?: 'wasm' | 'cpu';
  /** The native kernel tier in every worker (wasm); default: as in this thread (on where it is loaded here). */
  nativeKernels?: boolean;
}

export interface WorkerPool {
  readonly size: number;
  /** Runs handler `type` in worker `index`. */
  call<T>(index: number, type: string, payload?: unknown, transfer?: ArrayBuffer[]): Promise<T>;
  /** Runs handler `type` in every worker (payload per worker index) and waits for all. */
  all<T>(type: string, payload: (index: number) => unknown): Promise<T[]>;
  /** Terminates the workers. */
  close(): Promise<void>;
}

/** A handler result that moves `transfer` to the caller instead of copying it. */
export interface Transferring { __transfer: true; result: unknown; transfer: ArrayBuffer[] }

/** Wraps a handler result so that `transfer` is moved, not copied. */
export function transferring(result: unknown, transfer: ArrayBuffer[]): Transferring {
  return { __transfer: true, result, transfer };
}

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void }

/** Minimal request/response channel over one worker. */
class Channel {
  private next = 0;
  private readonly pending = new Map<number, Pending>();
  constructor(readonly worker: Worker) {
    worker.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => this.failAll(new Error(`worker exited with code ${code}`)));
  }
  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
  call<T>(type: string, payload: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, type, payload }, transfer);
    });
  }
}

/**
 * Worker bootstrap: hooks registered with `--import` do not reach a worker's entry module in
 * Node 20, so each worker registers tsx's ESM loader itself, then imports the worker entry (and
 * later the handler module) as TypeScript.
 */
function bootstrapSource(entry: URL): string {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); ` +
    `return import(${JSON.stringify(entry.href)}); });`;
}

/** Starts `workers` workers, each running `createHandlers(options)` of `module` on its own engine. */
export async function createWorkerPool(opts: WorkerPoolOptions): Promise<WorkerPool> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) {
    throw new Error(`createWorkerPool: workers must be an integer >= 1, got ${opts.workers}; use one per CPU core.`);
  }
  const backend = opts.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`createWorkerPool: backend '${String(backend)}' is not supported; valid: wasm, cpu.`);
  const entry = siblingModule('./worker-pool-worker', import.meta.url);
  const channels = Array.from({ length: opts.workers }, () => new Channel(new Worker(bootstrapSource(entry), { eval: true })));
  try {
    const native = opts.nativeKernels ?? nativeKernels() !== undefined;
    await Promise.all(channels.map((c) => c.call('__init', { module: opts.module.href, options: opts.options, backend, nativeKernels: native })));
  } catch (e) {
    await Promise.all(channels.map((c) => c.worker.terminate()));
    throw e;
  }
  return {
    size: channels.length,
    call<T>(index: number, type: string, payload?: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
      const c = channels[index];
      if (c === undefined) throw new Error(`WorkerPool.call: worker index ${index} out of range [0, ${channels.length}).`);
      return c.call<T>(type, payload, transfer);
    },
    all<T>(type: string, payload: (index: number) => unknown): Promise<T[]> {
      return Promise.all(channels.map((c, i) => c.call<T>(type, payload(i))));
    },
    async close() {
      await Promise.all(channels.map((c) => c.worker.terminate()));
    },
  };
}

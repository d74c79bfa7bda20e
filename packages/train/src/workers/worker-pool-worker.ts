/** Worker side of worker-pool.ts: initialises the engine, then dispatches messages to the module's handlers. */
import { parentPort } from 'node:worker_threads';
import { initEngine } from '@asam/engine';

type Handler = (payload: unknown) => unknown;
let handlers: Record<string, Handler> | undefined;

import type { Transferring } from './worker-pool.ts';

async function handle(type: string, payload: unknown): Promise<{ result: unknown; transfer?: ArrayBuffer[] }> {
  if (type === '__init') {
    const p = payload as { module: string; options: unknown; backend: 'wasm' | 'cpu'; nativeKernels: boolean };
    await initEngine({ backend: p.backend, nativeKernels: p.nativeKernels });
    const mod = (await import(p.module)) as { createHandlers?: (o: unknown) => Record<string, Handler> | Promise<Record<string, Handler>> };
    if (typeof mod.createHandlers !== 'function') throw new Error(`worker module ${p.module} does not export createHandlers(options)`);
    handlers = await mod.createHandlers(p.options);
    return { result: null };
  }
  if (handlers === undefined) throw new Error('worker: not initialised');
  const h = handlers[type];
  if (typeof h !== 'function') throw new Error(`worker: no handler '${type}' (have: ${Object.keys(handlers).join(', ')})`);
  const r = await h(payload);
  if (r !== null && typeof r === 'object' && (r as Transferring).__transfer === true) {
    return { result: (r as Transferring).result, transfer: (r as Transferring).transfer };
  }
  return { result: r };
}

parentPort?.on('message', (m: { id: number; type: string; payload: unknown }) => {
  handle(m.type, m.payload).then(
    ({ result, transfer }) => parentPort!.postMessage({ id: m.id, ok: true, result }, transfer ?? []),
    (e: unknown) => parentPort!.postMessage({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});

/**
 * Loads the native kernel addon (`build/onednn_kernels.node`, built from `native/onednn_kernels.cc` by
 * `scripts/setup.sh`: `g++` + Debian's `libdnnl-dev` + the npm package `node-api-headers`). Node only.
 *
 * Nothing here fails a caller: where the addon is not built, or `libdnnl.so.2` is missing, or it cannot be
 * loaded, the status says why and the WebAssembly-SIMD kernels stay in place.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from './native-kernels.ts';

/** Where the build puts the addon, relative to this package (the same from `src/` and `dist/`). */
export const DEFAULT_NATIVE_ADDON = fileURLToPath(new URL('../build/onednn_kernels.node', import.meta.url));

/** How the native tier was set up; recorded in {@link EngineInfo.native} and so in every run's env.json. */
export interface NativeStatus {
  /** Whether the native kernels are in use. */
  loaded: boolean;
  /** The addon file tried. */
  path: string;
  /** Why the tier is off (absent when loaded). */
  reason?: string;
  /** oneDNN version and the instruction set it dispatches to (when loaded). */
  onednn?: string;
  isa?: string;
  /** oneDNN threads per process (per worker thread in data-parallel training). */
  threads?: number;
}

/** Options of the native tier. */
export interface NativeKernelOptions {
  /** The addon file; default {@link DEFAULT_NATIVE_ADDON}. */
  path?: string;
  /**
   * oneDNN (OpenMP) threads in this process or worker thread; default 1 (both cores are used through
   * data-parallel workers, which measured faster than two oneDNN threads in one process; see the engine README).
   */
  threads?: number;
}

/** Why the tier is off where the addon file is missing, with the fix (inside the asam repository, setup.sh builds it). */
export const NOT_BUILT = 'not built: run `npx asam-build-native` (needs g++ and oneDNN: apt-get install g++ libdnnl-dev; in the asam repository `bash scripts/setup.sh` does both)';

let loaded: { path: string; addon: NativeAddon } | undefined;

/** Loads the addon once per thread (a second path in the same process is refused: one oneDNN per process). */
export function loadNativeKernels(opts: NativeKernelOptions = {}): { addon?: NativeAddon; status: NativeStatus } {
  const path = opts.path ?? DEFAULT_NATIVE_ADDON;
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`native kernels: threads must be a positive integer, got ${String(threads)}.`);
  }
  if (loaded !== undefined && loaded.path !== path) {
    return { status: { loaded: false, path, reason: `another native addon is already loaded in this process (${loaded.path})` } };
  }
  if (loaded === undefined) {
    if (!existsSync(path)) {
      return { status: { loaded: false, path, reason: NOT_BUILT } };
    }
    // libgomp spins between parallel regions by default, which starves a worker on the other core: passive waits.
    process.env['OMP_WAIT_POLICY'] ??= 'PASSIVE';
    try {
      const addon = createRequire(import.meta.url)(path) as NativeAddon;
      loaded = { path, addon };
    } catch (e) {
      const m = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
      return { status: { loaded: false, path, reason: `could not load the addon: ${m}` } };
    }
  }
  const { addon } = loaded;
  addon.setThreads(threads);
  const info = addon.info();
  return { addon, status: { loaded: true, path, onednn: info.version, isa: info.isa, threads } };
}

/** Collects env.json for a run folder: git revision, backend, versions, data hash, machine. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { collectRunEnv, packageVersion as versionFrom, type EngineReport, type RunEnv } from '@asam/cli';
import { readJsonIfExists } from './fs-util.ts';
import type { BackendReport } from './tasks/types.ts';

/** The installed version of an npm package as seen from this package, or null when it is absent. */
export function packageVersion(name: string): string | null {
  return versionFrom(name, import.meta.url);
}

/** SHA-256 of a file's bytes (hex). */
export function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Hashes the data files a cell uses: per-file sha256 (relative to dataDir) and one combined hash
 * = sha256 over the sorted "path  sha256" lines. Missing files are listed as missing.
 */
export function hashDataFiles(files: string[], dataDir: string): { files: Record<string, string>; combined: string | null } {
  const out: Record<string, string> = {};
  for (const f of [...new Set(files)].sort()) {
    const rel = path.relative(dataDir, f) || f;
    out[rel] = fs.existsSync(f) && fs.statSync(f).isFile() ? sha256File(f) : 'missing';
  }
  const keys = Object.keys(out);
  if (keys.length === 0) return { files: out, combined: null };
  const combined = createHash('sha256').update(keys.map((k) => `${k}  ${out[k]}`).join('\n')).digest('hex');
  return { files: out, combined };
}

/**
 * The env.json record of a cell's start: @asam/cli's run record (git revision of this source tree, backend report,
 * versions, machine, command), plus the hashes of the data files the cell reads. `backend` is `initEngine`'s report, or
 * the stand-in of a task that creates no tensors (no backends tried).
 */
export function collectEnv(o: { backend: BackendReport; dataDir: string; dataFiles: string[] }): RunEnv {
  const attempts = Array.isArray(o.backend.attempts) ? (o.backend.attempts as EngineReport['attempts']) : [];
  return collectRunEnv({
    engine: { ...o.backend, attempts }, programFile: import.meta.url, argv: process.argv.slice(2), cwd: process.cwd(),
    extra: { data: { dir: o.dataDir, ...hashDataFiles(o.dataFiles, o.dataDir) } },
  });
}

/**
 * The env.json of a (re)started cell: `fresh` for this start, with the records of earlier starts kept under `previous`
 * (earliest first) and, on a resume, `resumedAt` — the progress the folder's result.json recorded before this start.
 * A cell resumed on another machine or backend so keeps the record of where each part of it ran.
 */
export function envWithHistory(fresh: Record<string, unknown>, earlier: Record<string, unknown> | undefined,
  result: { status?: unknown; epochsCompleted?: unknown; steps?: unknown } | undefined): Record<string, unknown> {
  if (earlier === undefined) return fresh;
  const { previous, ...last } = earlier;
  const before = Array.isArray(previous) ? previous : [];
  return {
    ...fresh,
    resumedAt: { status: result?.status ?? null, epochsCompleted: result?.epochsCompleted ?? null, steps: result?.steps ?? null },
    previous: [...before, last],
  };
}

/** The env.json records of a run folder's starts, earliest first (empty without env.json). */
export function envRecords(dir: string): Array<EnvRecord> {
  const env = readJsonIfExists<EnvRecord & { previous?: unknown }>(path.join(dir, 'env.json'));
  if (env === undefined) return [];
  const previous = Array.isArray(env.previous) ? (env.previous as EnvRecord[]) : [];
  return [...previous, env];
}

/** The parts of an env.json record the reports read. */
export interface EnvRecord {
  git?: { sha?: string | null };
  backend?: { backend?: string; native?: { loaded?: boolean }; kernels?: unknown };
  machine?: { cpuModel?: string | null; cpuCount?: number };
}

/** The kernel a start's engine lists when BatchNorm's training pass is fused (@asam/engine's `BatchNormTraining`). */
export const FUSED_BATCH_NORM_KERNEL = 'wasm:BatchNormTraining';

/** Whether a start's engine had the native kernels loaded, and the fused BatchNorm training kernels. */
export function engineTier(r: EnvRecord): { native: boolean; fusedBatchNorm: boolean } {
  return { native: r.backend?.native?.loaded === true, fusedBatchNorm: Array.isArray(r.backend?.kernels) && r.backend.kernels.includes(FUSED_BATCH_NORM_KERNEL) };
}

/** A start's engine as reports name it: `wasm + native kernels + fused BatchNorm` (null without a backend record). */
export function engineLabel(r: EnvRecord): string | null {
  const b = r.backend?.backend;
  if (!b) return null;
  const t = engineTier(r);
  return `${b}${t.native ? ' + native kernels' : ''}${t.fusedBatchNorm ? ' + fused BatchNorm' : ''}`;
}

/** `cpuModel (N cores)`: how reports and estimates name a machine (null without a CPU model). */
export function machineLabel(m: { cpuModel?: string | null; cpuCount?: number } | undefined): string | null {
  return m?.cpuModel ? `${m.cpuModel} (${m.cpuCount ?? '?'} cores)` : null;
}

/** {@link machineLabel} of the machine this process runs on. */
export function thisMachine(): string | null {
  const cpus = os.cpus();
  return machineLabel({ cpuModel: cpus[0]?.model ?? null, cpuCount: cpus.length });
}

/**
 * The env.json record of a CLI run: git revision, machine, Node and tfjs versions, and the backend report of
 * @asam/engine's `initEngine` (chosen backend, why, every backend tried and its error). Everything comes in as
 * arguments; nothing here reads argv or the environment.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What @asam/engine's `initEngine` reports (structurally; this package does not depend on the engine). env.json
 * keeps every field of the report (kernels, wasm features, …), not only these.
 */
export interface EngineReport {
  backend: string;
  requested: string;
  reason: string;
  attempts: ReadonlyArray<{ name: string; ok: boolean; error: string | null }>;
}

/** The packages whose versions env.json records, by key. */
export const VERSION_PACKAGES: Readonly<Record<string, string>> = {
  tfjsCore: '@tensorflow/tfjs-core',
  tfjsLayers: '@tensorflow/tfjs-layers',
  tfjsBackendCpu: '@tensorflow/tfjs-backend-cpu',
  tfjsBackendWasm: '@tensorflow/tfjs-backend-wasm',
  tfjsBackendWebgpu: '@tensorflow/tfjs-backend-webgpu',
  tfjsNode: '@tensorflow/tfjs-node',
  tfjsNodeGpu: '@tensorflow/tfjs-node-gpu',
  webgpu: 'webgpu',
};

function toPath(from: string): string {
  return from.startsWith('file:') ? fileURLToPath(from) : from;
}

/** The version of package `name` as resolved from the file `from` (a path or file: URL), or null when absent. */
export function packageVersion(name: string, from: string): string | null {
  let entry: string;
  try {
    entry = createRequire(toPath(from)).resolve(name);
  } catch {
    return null;
  }
  for (let dir = path.dirname(entry); ; ) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      const j = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string; version?: string };
      if (j.name === name) return j.version ?? null;
    }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function git(args: string[], cwd: string): string | null {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Inputs of {@link collectRunEnv}. */
export interface RunEnvInput {
  /** `initEngine`'s report. */
  engine: EngineReport;
  /** The program's own file (import.meta.url): versions are resolved from it (and from @asam/engine as it sees it), git runs beside it. */
  programFile: string;
  /** The command line as given (process.argv.slice(2)). */
  argv: readonly string[];
  /** The directory the user ran the command in. */
  cwd: string;
  /** More fields to record (e.g. the data root). */
  extra?: Record<string, unknown>;
}

/** The env.json record: see the module comment. */
export interface RunEnv {
  createdAt: string;
  git: { sha: string | null; dirty: boolean | null };
  backend: EngineReport;
  versions: Record<string, string | null>;
  machine: { hostname: string; platform: string; cpuModel: string | null; cpuCount: number; totalMemGiB: number };
  command: { argv: string[]; cwd: string };
  pid: number;
  [k: string]: unknown;
}

/** Collects the env.json record of a run. */
export function collectRunEnv(o: RunEnvInput): RunEnv {
  const program = toPath(o.programFile);
  const dir = path.dirname(program);
  const bases = [program];
  try {
    bases.push(createRequire(program).resolve('@asam/engine'));
  } catch {
    // a program without the engine: its own dependencies only
  }
  const versions: Record<string, string | null> = { node: process.version };
  for (const [key, name] of Object.entries(VERSION_PACKAGES)) {
    versions[key] = bases.reduce<string | null>((v, b) => v ?? packageVersion(name, b), null);
  }
  const sha = git(['rev-parse', 'HEAD'], dir);
  const dirty = sha === null ? null : git(['status', '--porcelain', '--untracked-files=no'], dir);
  const cpus = os.cpus();
  return {
    createdAt: new Date().toISOString(),
    git: { sha, dirty: dirty === null ? null : dirty.length > 0 },
    backend: { ...o.engine, attempts: o.engine.attempts.map((a) => ({ ...a })) },
    versions,
    machine: {
      hostname: os.hostname(),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpuModel: cpus[0]?.model ?? null,
      cpuCount: cpus.length,
      totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    },
    command: { argv: [...o.argv], cwd: o.cwd },
    pid: process.pid,
    ...o.extra,
  };
}

/** The engine backend name that loaded (the one to request again to get the same backend), or null. */
export function chosenBackend(engine: Pick<EngineReport, 'attempts'>): string | null {
  return engine.attempts.find((a) => a.ok)?.name ?? null;
}

/** One line per backend tried: `wasm ok`, `webgpu: <why not>`. */
export function describeAttempts(engine: Pick<EngineReport, 'attempts'>): string {
  return engine.attempts.map((a) => (a.ok ? `${a.name} ok` : `${a.name}: ${a.error ?? 'failed'}`)).join('; ');
}

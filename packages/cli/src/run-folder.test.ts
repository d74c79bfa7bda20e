import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isUserError, UsageError } from './errors.ts';
import { chosenBackend, collectRunEnv, describeAttempts, packageVersion } from './env-info.ts';
import { discardRun, firstMissingFolder, markRunStopped, prepareRunFolder, readRunEnv, recordRunEnv, startConsoleLog } from './run-folder.ts';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'asam-cli-'));
const RUN_FILES = ['config.json', 'checkpoint.bin', 'metrics.csv', 'result.json'];
const prep = (dir: string, resume: boolean, overwrite: boolean) => prepareRunFolder(dir, { resume, overwrite, runFiles: RUN_FILES });
const engine = {
  backend: 'wasm', requested: 'auto', reason: 'first backend that loaded (webgpu unavailable)',
  attempts: [{ name: 'webgpu', ok: false, error: 'no GPU adapter' }, { name: 'wasm', ok: true, error: null }], kernels: ['grad:Mean'],
};

describe('prepareRunFolder', () => {
  it('a missing or empty folder starts a new run; --resume there is refused', () => {
    const d = tmp();
    expect(prep(path.join(d, 'new'), false, false)).toBe('new');
    expect(prep(d, false, false)).toBe('new');
    expect(() => prep(d, true, false)).toThrow(UsageError);
    expect(() => prep(d, true, false)).toThrow(/--resume: .* holds no run to continue \(no config\.json\)/);
  });

  it('refuses a folder that holds a run unless --resume or --overwrite, and never both', () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'config.json'), '{}');
    fs.writeFileSync(path.join(d, 'checkpoint.bin'), 'x');
    expect(() => prep(d, false, false)).toThrow(/already holds a run \(config\.json, checkpoint\.bin\); pass --resume to continue it, --overwrite/);
    expect(() => prep(d, true, true)).toThrow(/exclude each other/);
    expect(prep(d, true, false)).toBe('resume');
    expect(fs.existsSync(path.join(d, 'checkpoint.bin'))).toBe(true);
  });

  it('a completed run is finished for --resume; --overwrite deletes only the run files', () => {
    const d = tmp();
    for (const f of ['config.json', 'result.json', 'env.json', 'log.txt']) fs.writeFileSync(path.join(d, f), f === 'result.json' ? '{"status":"completed"}' : '{}');
    fs.writeFileSync(path.join(d, 'notes.md'), 'mine');
    expect(prep(d, true, false)).toBe('finished');
    expect(() => prep(d, false, false)).toThrow(/status completed/);
    expect(prep(d, false, true)).toBe('new');
    expect(fs.readdirSync(d)).toEqual(['notes.md']);
  });

  it('a run another live process trains (run.lock) is not resumed, deleted or started twice: one line naming the holder; nothing changes', () => {
    const d = tmp();
    for (const f of ['config.json', 'checkpoint.bin']) fs.writeFileSync(path.join(d, f), 'x');
    const lock = JSON.stringify({ format: 'asam-run-lock/1', host: os.hostname(), bootId: null, pid: process.pid, pidStart: null, childPid: null,
      childStart: null, token: 'another-process', since: '2026-12-07T03:00:00.000Z', what: 'vision training' });
    fs.writeFileSync(path.join(d, 'run.lock'), lock);
    for (const [resume, overwrite] of [[true, false], [false, true], [false, false]] as const) {
      let err: unknown;
      try { prep(d, resume, overwrite); } catch (e) { err = e; }
      expect(isUserError(err)).toBe(true);
      expect((err as Error).message).toBe(`${d} is being trained by pid ${process.pid} on host ${os.hostname()} (vision training) since 2026-12-07T03:00:00.000Z; wait for it to end or stop it (Ctrl-C or SIGTERM), then run again`);
    }
    expect(fs.readdirSync(d).sort()).toEqual(['checkpoint.bin', 'config.json', 'run.lock']);
    expect(fs.readFileSync(path.join(d, 'run.lock'), 'utf8')).toBe(lock);
    // once that process has ended (a pid that is gone), the lock is stale and the run resumes
    fs.writeFileSync(path.join(d, 'run.lock'), lock.replace(`"pid":${process.pid}`, `"pid":${spawnSync(process.execPath, ['-e', '']).pid}`));
    expect(prep(d, true, false)).toBe('resume');
  });

  it('a file is not a run folder', () => {
    const f = path.join(tmp(), 'file');
    fs.writeFileSync(f, 'x');
    expect(() => prep(f, false, false)).toThrow(/is a file, not a folder/);
  });

  it('an unfinished run without its config cannot be resumed', () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'log.txt'), 'x');
    expect(() => prep(d, true, false)).toThrow(/has no config\.json/);
  });
});

describe('discardRun', () => {
  it('removes the run files and the folders the run created, nothing else', () => {
    const d = tmp();
    const out = path.join(d, 'a', 'b', 'run');
    const created = firstMissingFolder(out);
    expect(created).toBe(path.join(d, 'a'));
    expect(firstMissingFolder(d)).toBeNull();
    fs.mkdirSync(out, { recursive: true });
    for (const f of ['config.json', 'env.json', 'log.txt']) fs.writeFileSync(path.join(out, f), 'x');
    discardRun(out, RUN_FILES, created);
    expect(fs.readdirSync(d)).toEqual([]);
    // a folder that existed before, or holds other files, stays
    const keep = path.join(d, 'keep');
    fs.mkdirSync(keep);
    fs.writeFileSync(path.join(keep, 'config.json'), 'x');
    fs.writeFileSync(path.join(keep, 'mine.txt'), 'x');
    discardRun(keep, RUN_FILES, firstMissingFolder(keep));
    expect(fs.readdirSync(keep)).toEqual(['mine.txt']);
  });
});

describe('startConsoleLog', () => {
  it('copies stdout and stderr writes into the log file until stopped', () => {
    const d = tmp();
    const file = path.join(d, 'sub', 'log.txt');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, 'before\n');
    const outWrite = process.stdout.write;
    const errWrite = process.stderr.write;
    const seen: string[] = [];
    // stand-in console streams, so the test prints nothing
    process.stdout.write = ((s: string) => { seen.push(`out:${s}`); return true; }) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => { seen.push(`err:${s}`); return true; }) as typeof process.stderr.write;
    try {
      const stop = startConsoleLog(file);
      process.stdout.write('one\n');
      process.stderr.write('two\n');
      stop();
      process.stdout.write('three\n');
    } finally {
      process.stdout.write = outWrite;
      process.stderr.write = errWrite;
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('before\none\ntwo\n');
    expect(seen).toEqual(['out:one\n', 'err:two\n', 'out:three\n']);
  });
});

describe('recordRunEnv', () => {
  const env = () => collectRunEnv({ engine, programFile: import.meta.url, argv: ['--out', 'x'], cwd: '/u' });

  it('writes env.json once for a new run and appends resumes to env-resume.jsonl', () => {
    const d = tmp();
    const first = env();
    recordRunEnv(d, 'new', first);
    const before = fs.readFileSync(path.join(d, 'env.json'), 'utf8');
    expect(() => recordRunEnv(d, 'new', env())).toThrow(/never replaces another run's env\.json/);
    recordRunEnv(d, 'resume', env());
    recordRunEnv(d, 'resume', env());
    expect(fs.readFileSync(path.join(d, 'env.json'), 'utf8')).toBe(before);
    expect(fs.readFileSync(path.join(d, 'env-resume.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(readRunEnv(d)?.pid).toBe(first.pid);
    expect(readRunEnv(tmp())).toBeNull();
  });
});

describe('collectRunEnv', () => {
  it('records git sha, machine, versions, the backend report with every attempt, and the command', () => {
    const e = collectRunEnv({ engine, programFile: import.meta.url, argv: ['--out', 'x'], cwd: '/u', extra: { dataDir: '/d' } });
    const here = path.dirname(fileURLToPath(import.meta.url));
    // HEAD when collected: HEAD now or an ancestor of it (commits may land meanwhile); null outside a git checkout
    if (spawnSync('git', ['rev-parse', 'HEAD'], { cwd: here }).status !== 0) expect(e.git.sha).toBeNull();
    else {
      expect(e.git.sha).toMatch(/^[0-9a-f]{40}$/);
      expect(spawnSync('git', ['merge-base', '--is-ancestor', e.git.sha!, 'HEAD'], { cwd: here }).status).toBe(0);
    }
    expect(e.machine.cpuModel).toBe(os.cpus()[0]?.model ?? null);
    expect(e.machine.cpuCount).toBe(os.cpus().length);
    expect(e.versions.node).toBe(process.version);
    expect(e.backend).toEqual(engine);
    expect(e.backend.attempts).not.toBe(engine.attempts);
    expect(e.command).toEqual({ argv: ['--out', 'x'], cwd: '/u' });
    expect(e.dataDir).toBe('/d');
    expect(chosenBackend(engine)).toBe('wasm');
    expect(describeAttempts(engine)).toBe('webgpu: no GPU adapter; wasm ok');
  });

  it('reads package versions as the program resolves them, null when absent', () => {
    // this package pins commander 14.0.3 in package.json
    const pinned = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies.commander;
    expect(packageVersion('commander', import.meta.url)).toBe(pinned);
    expect(packageVersion('no-such-package-here', import.meta.url)).toBeNull();
  });
});

describe('markRunStopped', () => {
  it('marks a running run stopped (keeping its other fields), leaves an ended one and a folder without result.json alone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-mark-stopped-'));
    markRunStopped(dir);
    expect(fs.existsSync(path.join(dir, 'result.json'))).toBe(false);
    fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify({ status: 'running', steps: 7 }));
    markRunStopped(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'))).toEqual({ status: 'stopped', steps: 7 });
    for (const status of ['completed', 'diverged', 'failed']) {
      fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify({ status }));
      markRunStopped(dir);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).status).toBe(status);
    }
    expect(fs.readdirSync(dir)).toEqual(['result.json']);
  });
});

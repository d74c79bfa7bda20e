/**
 * The training CLI as a user meets it: spawned with tsx in the package folder (as `pnpm --filter @asam/vision train`
 * runs it) with $INIT_CWD set to another folder, on a small synthetic CIFAR-10 written here (no data folder needed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { readCheckpointSync, writeCheckpointSync } from '@asam/train';
import { packageVersion } from '@asam/cli';
import { writeSyntheticCifar10 } from '@asam/data';
import { createRequire } from 'node:module';
import { cpus, hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(pkg, 'src', 'cli.ts');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

/** The folder the "user" runs the command in; relative paths must land here, not in the package folder. */
let user: string;

beforeAll(() => {
  user = mkdtempSync(join(tmpdir(), 'asam-vision-cli-'));
  // CIFAR-10's binary layout (1 label byte + 3072 pixel bytes per image), small
  writeSyntheticCifar10(join(user, 'data'), { train: 16, test: 8, seed: 0 });
});
afterAll(() => rmSync(user, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const base = { ...process.env };
  for (const k of ['INIT_CWD', 'ASAM_DATA_DIR', 'ASAM_BACKEND']) delete base[k];
  const r = spawnSync(process.execPath, [tsxCli, cli, ...args], { cwd: pkg, env: { ...base, INIT_CWD: user, ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * env.json's git SHA is the checkout's commit: HEAD when the run started, so HEAD now or one of its ancestors (other
 * commits may land while the test runs); null only outside a git checkout.
 */
function expectGitSha(sha: string | null): void {
  const inGit = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: pkg, encoding: 'utf8' }).status === 0;
  if (!inGit) return expect(sha).toBeNull();
  expect(sha).toMatch(/^[0-9a-f]{40}$/);
  expect(spawnSync('git', ['merge-base', '--is-ancestor', sha!, 'HEAD'], { cwd: pkg }).status).toBe(0);
}

/** A user error: exit 2 and exactly one line on stderr, no stack trace. */
function expectUserError(r: { status: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).toMatch(pattern);
}

// pnpm passes its `--` through; flags in both the `--flag value` and the `--flag=value` form
const tiny = ['--', '--model=resnet8_tiny', '--optimizer', 'sgd', '--epochs=1', '--batch-size', '8', '--train-limit', '16',
  '--test-limit=8', '--eval-batch-size', '8', '--backend', 'cpu', '--data-dir', 'data'];

describe('vision CLI', () => {
  it('--help lists every flag with its default, the shared method and backend names; exit 0', () => {
    const r = run(['--', '--help']);
    expect(r.status, r.stderr).toBe(0);
    const entries: string[] = [];
    for (const l of r.stdout.split('\n')) {
      if (/^ {2}(-h, )?--[a-z]/.test(l)) entries.push(l.trim());
      else if (/^ {6,}\S/.test(l) && entries.length > 0 && !/^Examples|^ImageNet/.test(l)) entries[entries.length - 1] += ' ' + l.trim();
      else if (!/^ {6,}/.test(l) && entries.length > 0 && l.trim() === '') break;
    }
    expect(entries.length).toBeGreaterThan(35);
    for (const e of entries.filter((x) => !x.startsWith('-h, --help'))) expect(e).toMatch(/default: /);
    const text = entries.join('\n');
    expect(text).toMatch(/--optimizer <method> .*one of sgd \| sam \| asam; default: asam/);
    expect(text).toMatch(/--backend <name> .*one of auto \| tensorflow-gpu \| tensorflow \| webgpu \| wasm \| cpu; default: \$ASAM_BACKEND, else auto/);
    expect(text).toMatch(/--data-dir <dir> .*default: \$ASAM_DATA_DIR/);
    expect(text).toMatch(/--resume .*default: off/);
    expect(text).toMatch(/--overwrite .*default: off/);
    expect(text).toMatch(/--epochs <n> .*default: 200; ImageNet 100/);
  }, 60_000);

  it('answers an unknown flag with the nearest valid one (one line, exit 2)', () => {
    expectUserError(run(['--model', 'resnet8_tiny', '--optimzer', 'sam', '--out', 'x']), /unknown flag "--optimzer"; did you mean --optimizer\?/);
    expectUserError(run(['--model', 'resnet8_tiny', '--batchsize=8', '--out', 'x']), /unknown flag "--batchsize"; did you mean --batch-size\?/);
    expectUserError(run(['--model', 'resnet8_tiny', '--optimizer', 'adam', '--out', 'x']), /--optimizer "adam" is not valid; expected one of sgd, sam, asam/);
    expectUserError(run(['--model', 'resnet8_tiny', '--backend', 'gpu', '--out', 'x']), /--backend "gpu" is not valid/);
    expectUserError(run(['--model', 'resnet8_tiny', '--out', 'x'], { ASAM_BACKEND: 'wsam' }), /ASAM_BACKEND="wsam" is not a backend; .*did you mean wasm\?/);
    expectUserError(run(['--model', 'resnet8_tiny', '--epochs', 'two', '--out', 'x']), /--epochs "two" is not a number/);
    expectUserError(run(['--model', 'resnet8_tiny']), /--out is required/);
    expectUserError(run(['--model', 'resnet21', '--out', 'x']), /unknown model 'resnet21'; valid models: resnet20/);
    expect(existsSync(join(user, 'x'))).toBe(false);
  }, 120_000);

  it('config errors and missing data are user errors too; a run stopped by them leaves no run folder behind', () => {
    expectUserError(run([...tiny, '--lr', '-1', '--out', 'bad-lr']), /config\.lr = -1 is invalid/);
    expectUserError(run([...tiny, '--data-dir', 'no-data', '--no-download', '--out', 'no-data/run']), /CIFAR-10 train split .*not found\. Looked in: .*no-data.*data_batch_1\.bin, .*; To get it: pnpm data:download --dataset cifar10 --data-dir /);
    expect(existsSync(join(user, 'no-data'))).toBe(false);
    // data on demand: a download that cannot be had (nothing listens on port 9 of 127.0.0.1) is one line with the fixes
    const d = run([...tiny, '--data-dir', 'no-data', '--mirror', 'http://127.0.0.1:9', '--out', 'no-data/run']);
    expect(d.stdout).toContain(`[vision] cifar10 is not in ${join(user, 'no-data')}: downloading 162 MiB from 127.0.0.1:9`);
    expectUserError(d, /^error: cifar10 \(download failed: cannot reach 127\.0\.0\.1:9 \(ECONNREFUSED.*\) not found\. Looked in: .*no-data; To get it: pnpm data:download --dataset cifar10 .*--mirror URL/);
    expect(existsSync(join(user, 'no-data', 'run'))).toBe(false);
  }, 120_000);

  // tfjs-node-gpu is never a dependency; where someone installed it, this backend loads and the case does not apply
  const gpuBackendInstalled = packageVersion('@tensorflow/tfjs-node-gpu', createRequire(import.meta.url).resolve('@asam/engine')) !== null;
  it.skipIf(gpuBackendInstalled)('a requested backend that does not load is a user error and leaves no run folder behind', () => {
    expectUserError(run([...tiny, '--backend', 'tensorflow-gpu', '--out', 'no-gpu/run']), /--backend tensorflow-gpu: initEngine: no backend could be initialised .*tensorflow-gpu: /);
    expect(existsSync(join(user, 'no-gpu'))).toBe(false);
  }, 60_000);

  it('a run: relative --out and --data-dir from $INIT_CWD, log.txt, env.json; a second start is refused; --resume of a finished run changes nothing; --resume continues an unfinished one; --overwrite starts again', () => {
    const out = join(user, 'runs', 'r1');
    const a = run([...tiny, '--out', 'runs/r1']);
    expect(a.status, a.stderr).toBe(0);
    expect(existsSync(join(pkg, 'runs'))).toBe(false);
    expect(readdirSync(out).sort()).toEqual(expect.arrayContaining(['checkpoint.bin', 'config.json', 'env.json', 'log.txt', 'metrics.csv', 'result.json']));
    // log.txt holds what the console got
    const log = readFileSync(join(out, 'log.txt'), 'utf8');
    expect(log).toBe(a.stdout + a.stderr);
    expect(log).toMatch(/\[vision\] backend cpu .*tried: /);
    expect(log).toMatch(/epoch 1: train loss/);
    // env.json: git sha, CPU model, Node and tfjs versions, backend and every attempt, the command
    const env = JSON.parse(readFileSync(join(out, 'env.json'), 'utf8'));
    expectGitSha(env.git.sha);
    expect(env.machine.cpuModel).toBe(cpus()[0]?.model ?? null);
    expect(env.versions.node).toBe(process.version);
    expect(env.versions.tfjsCore).toMatch(/^\d+\.\d+\.\d+$/);
    expect(env.backend).toMatchObject({ backend: 'cpu', requested: 'cpu', attempts: [{ name: 'cpu', ok: true, error: null }] });
    expect(env.command).toEqual({ argv: [...tiny, '--out', 'runs/r1'], cwd: user });
    expect(env.dataDir).toBe(join(user, 'data'));
    const envText = readFileSync(join(out, 'env.json'), 'utf8');
    const resultText = readFileSync(join(out, 'result.json'), 'utf8');

    // the same command again: refused, nothing touched
    expectUserError(run([...tiny, '--out', 'runs/r1']), /runs\/r1 already holds a run \(.*status completed\); pass --resume to continue it, --overwrite to delete it/);
    // --resume of the finished run: reported, nothing written
    const f = run(['--', '--resume', '--out', 'runs/r1']);
    expect(f.status, f.stderr).toBe(0);
    expect(f.stdout).toMatch(/is a finished run \(status completed: .*\); nothing to resume/);
    expect(readFileSync(join(out, 'env.json'), 'utf8')).toBe(envText);
    expect(readFileSync(join(out, 'result.json'), 'utf8')).toBe(resultText);
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toBe(log);
    expect(existsSync(join(out, 'env-resume.jsonl'))).toBe(false);
    // flags other than the execution settings are refused with --resume
    expectUserError(run(['--resume', '--out', 'runs/r1', '--lr', '0.2']), /--resume reuses .*config\.json; drop --lr/);
    expectUserError(run(['--resume', '--overwrite', '--out', 'runs/r1']), /exclude each other/);

    // an unfinished run (its checkpoint is there, its result not yet): --resume finishes it; env.json stays, the
    // resumed process is recorded in env-resume.jsonl and its console output appended to log.txt
    rmSync(join(out, 'result.json'));
    // while another live process trains it (its run.lock; here this test's own pid), --resume is refused and nothing is written
    writeFileSync(join(out, 'run.lock'), JSON.stringify({ format: 'asam-run-lock/1', host: hostname(), bootId: null, pid: process.pid, pidStart: null,
      childPid: null, childStart: null, token: 'another-terminal', since: '2026-12-07T03:00:00.000Z', what: 'vision training' }));
    expectUserError(run(['--resume', '--out=runs/r1']), new RegExp(`runs/r1 is being trained by pid ${process.pid} on host .* \\(vision training\\) since 2026-12-07T03:00:00.000Z; wait for it to end or stop it`));
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toBe(log);
    rmSync(join(out, 'run.lock'));
    const r = run(['--resume', '--out=runs/r1', '--progress-every', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[vision\] resuming: /);
    expect(readFileSync(join(out, 'env.json'), 'utf8')).toBe(envText);
    const resumes = readFileSync(join(out, 'env-resume.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(resumes).toHaveLength(1);
    expect(resumes[0].backend.backend).toBe('cpu'); // the backend the run started on, from env.json
    expect(resumes[0].command.argv).toEqual(['--resume', '--out=runs/r1', '--progress-every', '1']);
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toBe(log + r.stdout + r.stderr);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).status).toBe('completed');

    // --overwrite: the old run's files go, a new env.json is written
    const o = run([...tiny, '--optimizer=asam', '--overwrite', '--out', 'runs/r1']);
    expect(o.status, o.stderr).toBe(0);
    expect(existsSync(join(out, 'env-resume.jsonl'))).toBe(false);
    const env2 = JSON.parse(readFileSync(join(out, 'env.json'), 'utf8'));
    expect(env2.pid).not.toBe(env.pid);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).config.optimizer.method).toBe('asam');
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toBe(o.stdout + o.stderr);
  }, 300_000);

  it('Ctrl-C: "stopping at the next step…", a checkpoint there, status stopped, the resume command, exit 130; --resume continues from it', async () => {
    // a long run (200 epochs), stopped as soon as it prints its first step; then resumed and stopped again
    const args = ['--model=resnet8_tiny', '--optimizer', 'sam', '--epochs=200', '--batch-size', '8', '--train-limit', '16', '--test-limit=8',
      '--eval-batch-size', '8', '--backend', 'cpu', '--data-dir', 'data', '--progress-every', '1', '--out', 'runs/stopped'];
    const out = join(user, 'runs', 'stopped');
    const first = await runUntil(args, /^epoch 1\/200 step 1\/2 /m);
    expect(first.status, first.stderr).toBe(130);
    expect(first.stdout).toContain('[vision] SIGINT: stopping at the next step… (it writes a checkpoint there; Ctrl-C again stops at once)');
    expect(first.stdout).toMatch(/\[vision\] stop requested: checkpoint at (epoch \d+, step \d+ \(global \d+\)|the end of epoch \d+); the run resumes from it/);
    expect(first.stdout).toContain(`[vision] stopped at a checkpoint after `);
    expect(first.stdout).toContain(`resume with: pnpm --filter @asam/vision train -- --resume --out ${out}`);
    expect(first.stderr).toBe('');
    const r1 = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(r1.status).toBe('stopped');
    expect(existsSync(join(out, 'checkpoint.bin'))).toBe(true);
    const again = await runUntil(['--resume', '--out', 'runs/stopped'], /^epoch \d+\/200 step \d+\/2 /m);
    expect(again.status, again.stderr).toBe(130);
    expect(again.stdout).toContain(`[vision] resumed from ${join(out, 'checkpoint.bin')}: epoch ${Math.floor(r1.steps / 2) + 1}, step ${r1.steps % 2} of it (global step ${r1.steps})`);
    const r2 = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(r2.status).toBe('stopped');
    expect(r2.steps).toBeGreaterThan(r1.steps);
  }, 300_000);

  it('--resume with a damaged or foreign run file: one line naming the file, what is wrong and the fix; exit 2; nothing already written is lost', () => {
    // a run to damage: finished, then marked as stopped so that --resume reads every file
    const src = join(user, 'runs', 'intact');
    const made = run([...tiny, '--out', 'runs/intact']);
    expect(made.status, made.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(src, 'result.json'), 'utf8'));
    writeFileSync(join(src, 'result.json'), JSON.stringify({ ...result, status: 'stopped' }));
    const ckpt = readCheckpointSync(join(src, 'checkpoint.bin'));
    const cases: Array<[string, (dir: string) => void, RegExp]> = [
      ['truncated checkpoint', (d) => truncate(join(d, 'checkpoint.bin'), 100),
        /checkpoint\.bin is truncated: .*; fix: remove checkpoint\.bin \(the run then starts again from its first step with the same config\), or start the run again .*--overwrite/],
      ['foreign checkpoint', (d) => writeFileSync(join(d, 'checkpoint.bin'), '{"not": "a checkpoint"}'),
        /checkpoint\.bin is not an asam checkpoint: found 23 bytes starting .*; fix: remove checkpoint\.bin/],
      ['checkpoint of another model', (d) => writeCheckpointSync(join(d, 'checkpoint.bin'), ckpt.meta, { model: [{ name: 'dense/kernel', shape: [2], data: new Float32Array(2) }] }),
        /checkpoint\.bin: no tensor '[^']+' \(a checkpoint of another model\?\); fix: remove checkpoint\.bin/],
      ['checkpoint of another program', (d) => writeCheckpointSync(join(d, 'checkpoint.bin'), { step: 3 }, ckpt.groups),
        /checkpoint\.bin: its state has no "runtime": 1 \(found fields step; .*\) \(a checkpoint of another program\?\); fix: remove checkpoint\.bin/],
      ['truncated config.json', (d) => truncate(join(d, 'config.json'), 30),
        /config\.json is not valid JSON \(.*\): the file is damaged; fix: pass --overwrite to delete the run and start again, or choose another --out/],
      ['foreign config.json', (d) => writeFileSync(join(d, 'config.json'), JSON.stringify({ preset: 'transformer_tiny', corpus: 'multi30k' })),
        /config\.json is not an image-classification config this program can resume: .*; fix: pass --overwrite/],
      ['empty env.json', (d) => writeFileSync(join(d, 'env.json'), ''),
        /env\.json is not valid JSON \(the file is empty\): the file is damaged; fix: remove env\.json \(the run resumes without the record of its start: .*\), or pass --overwrite/],
      ['foreign env.json', (d) => writeFileSync(join(d, 'env.json'), JSON.stringify({ backend: 'cpu' })),
        /env\.json: field "backend" is "cpu", not the backend record a run writes: .*; fix: remove env\.json/],
      ['broken result.json', (d) => writeFileSync(join(d, 'result.json'), '{"status": "stop'),
        /result\.json is not valid JSON \(.*\): the file is damaged; fix: remove result\.json \(the run then resumes from its checkpoint and writes it again\), or pass --overwrite/],
      ['foreign result.json', (d) => writeFileSync(join(d, 'result.json'), '[1, 2]'),
        /result\.json holds an array, not the JSON object a run writes: .*; fix: remove result\.json/],
    ];
    for (const [name, damage, message] of cases) {
      const rel = `runs/damaged-${name.replace(/\W+/g, '-')}`;
      const dir = join(user, rel);
      cpSync(src, dir, { recursive: true });
      damage(dir);
      const before = Object.fromEntries(readdirSync(dir).filter((f) => f !== 'log.txt' && f !== 'env-resume.jsonl').map((f) => [f, readFileSync(join(dir, f))]));
      const r = run(['--resume', '--out', rel]);
      expectUserError(r, message);
      expect(r.stderr, name).toContain(dir);
      // nothing already written is lost or changed (log.txt gets the error line, env-resume.jsonl the attempt)
      for (const [f, bytes] of Object.entries(before)) expect(readFileSync(join(dir, f)).equals(bytes), `${name}: ${f}`).toBe(true);
    }
  }, 600_000);
});

/**
 * Runs the CLI the way `pnpm --filter @asam/vision train` does (`node --import tsx`: the process that trains is the one
 * that gets the signal) and sends it SIGINT (Ctrl-C) once its output matches `when`; resolves when it has exited.
 */
function runUntil(args: string[], when: RegExp): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env };
  for (const k of ['INIT_CWD', 'ASAM_DATA_DIR', 'ASAM_BACKEND']) delete base[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: pkg, env: { ...base, INIT_CWD: user } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (!sent && when.test(stdout)) { sent = true; child.kill('SIGINT'); }
    });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Cuts `file` down to its first `bytes` bytes (a save that did not complete). */
function truncate(file: string, bytes: number): void {
  truncateSync(file, bytes);
}

/**
 * Kill-and-resume: the CLI trains a run uninterrupted; a child process trains the same config.json and is SIGKILLed
 * at a chosen step (its progress hook reports the step and blocks until the kill, so the kill cannot land anywhere
 * else); the CLI resumes it with --resume, and its final weights and optimizer state are compared bit for bit with
 * the uninterrupted run (wasm backend: one thread, deterministic). Data: a synthetic CIFAR-10 written by the test.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { writeSyntheticCifar10 } from '@asam/data';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { readCheckpoint } from '@asam/train';
import { loadNativeKernels } from '@asam/engine';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(pkg, 'src', 'cli.ts');
// tsx's CLI, resolved like any dependency (the workspace root provides it), run with this node binary
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const child = join(pkg, 'src', 'train', 'resume-child.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'asam-resume-data-'));
beforeAll(() => { writeSyntheticCifar10(dataDir, { train: 48, test: 16, seed: 0 }); });
const args = (out: string) => ['--model', 'resnet8_tiny', '--optimizer', 'asam', '--epochs', '2', '--batch-size', '16',
  '--train-limit', '48', '--test-limit', '16', '--eval-batch-size', '16', '--checkpoint-every', '1', '--backend', 'wasm',
  '--data-dir', dataDir, '--out', out];

/**
 * Runs resume-child.ts on `config` into `out` and SIGKILLs it once it reports global step `stopAt` (it blocks there
 * until killed). Resolves with the step it reported and how it ended.
 */
function killAt(config: string, out: string, stopAt: number, env: NodeJS.ProcessEnv): Promise<{ reported: number; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, config, out, dataDir, 'wasm', String(stopAt)],
      { cwd: pkg, env, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let reported = -1;
    p.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    (p.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      const m = /stopped (\d+)/.exec(d.toString());
      if (m && reported < 0) { reported = Number(m[1]); p.kill('SIGKILL'); }
    });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (reported < 0) reject(new Error(`the child ended (${signal ?? `exit ${code}`}) without reaching step ${stopAt}: ${stderr}`));
      else resolve({ reported, signal });
    });
  });
}

function run(a: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [tsxCli, cli, ...a], { env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Both kernel tiers: bit-identity holds within a tier (the tiers differ in float32 summation order).
const NATIVE = loadNativeKernels().status;
const TIERS = [
  { tier: 'SIMD', flag: 'off', skip: false },
  { tier: NATIVE.loaded ? 'native' : `native (skipped: ${NATIVE.reason ?? ''})`, flag: 'on', skip: !NATIVE.loaded },
];

describe.each(TIERS)('CLI kill + resume on the $tier kernels', ({ flag, skip }) => {
  const env = { ...process.env, ASAM_NATIVE_KERNELS: flag };
  it.skipIf(skip)('a run SIGKILLed at step 3 (last checkpoint: step 2, mid-epoch) resumes to bit-identical weights', async () => {
    const root = mkdtempSync(join(tmpdir(), 'asam-resume-'));
    const full = join(root, 'full');
    const killed = join(root, 'killed');

    const a = run(args(full), env);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/results in .*full: config\.json, env\.json, metrics\.csv, result\.json/);
    expect(JSON.parse(readFileSync(join(full, 'env.json'), 'utf8')).backend.native.loaded).toBe(flag === 'on');

    // 3 steps per epoch, a checkpoint after every step: killed while reporting step 3, before epoch 1's evaluation
    const k = await killAt(join(full, 'config.json'), killed, 3, env);
    expect(k).toEqual({ reported: 3, signal: 'SIGKILL' });
    const ckpt = join(killed, 'checkpoint.bin');
    const mid = await readCheckpoint<{ globalStep: number; epoch: number; stepInEpoch: number }>(ckpt);
    expect(JSON.parse(readFileSync(join(killed, 'result.json'), 'utf8')).status).toBe('running'); // it really died mid-run
    expect(existsSync(join(killed, 'metrics.csv'))).toBe(false); // before the first epoch ended
    expect([mid.meta.globalStep, mid.meta.epoch, mid.meta.stepInEpoch]).toEqual([2, 0, 2]);

    const b = run(['--resume', '--out', killed, '--backend', 'wasm', '--data-dir', dataDir], env);
    expect(b.status, b.stderr).toBe(0);
    const resA = JSON.parse(readFileSync(join(full, 'result.json'), 'utf8'));
    const resB = JSON.parse(readFileSync(join(killed, 'result.json'), 'utf8'));
    expect(resB.resumedFrom).toEqual({ epoch: 0, step: 2 });
    expect(resB.steps).toBe(resA.steps);
    expect(resB.final).toEqual(resA.final);

    const ca = await readCheckpoint(join(full, 'checkpoint.bin'));
    const cb = await readCheckpoint(join(killed, 'checkpoint.bin'));
    const all = (c: typeof ca) => Object.values(c.groups).flat();
    expect(all(cb).map((t) => t.name)).toEqual(all(ca).map((t) => t.name));
    expect(ca.groups.optimizer!.length).toBeGreaterThan(1);
    all(ca).forEach((t, i) => {
      const u = all(cb)[i]!;
      expect(Buffer.from(u.data.buffer).equals(Buffer.from(t.data.buffer)), t.name).toBe(true);
    });
    // train metrics of every epoch are identical too (they are part of the checkpointed state)
    const rows = (p: string) => readFileSync(join(p, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').slice(0, 7).join(','));
    expect(rows(killed)).toEqual(rows(full));
  }, 240_000);
});

describe('CLI flags', () => {
  it('CLI rejects bad flags with a message naming the flag', () => {
    const r1 = run(['--model', 'resnet20', '--out', join(tmpdir(), 'x'), '--epochs', 'two']);
    expect(r1.status).toBe(2);
    expect(r1.stderr).toMatch(/--epochs "two" is not a number/);
    const r2 = run(['--model', 'resnet20', '--out', join(tmpdir(), 'x'), '--bogus', '1']);
    expect(r2.stderr).toMatch(/unknown flag "--bogus"/);
    const r5 = run(['--resume', '--out', join(tmpdir(), 'x'), '--lr', '0.2']);
    expect(r5.stderr).toMatch(/--resume reuses .*config\.json; drop --lr \(only --backend, --data-dir, --no-download, --mirror, --micro-batch, --workers, --progress-every may be given\)/);
    const r3 = run(['--model', 'resnet21', '--out', join(tmpdir(), 'x')]);
    expect(r3.stderr).toMatch(/unknown model 'resnet21'; valid models: resnet20/);
    const r4 = run(['--help']);
    expect(r4.status).toBe(0);
    expect(r4.stdout).toMatch(/--optimizer/);
  }, 60_000);
});

/**
 * Kill-and-resume through the real CLI: a child process is SIGKILLed right after its first (mid-epoch) checkpoint,
 * resumed with --resume, and its final weights and optimizer state are compared bit for bit with an
 * uninterrupted run (cpu backend, which is deterministic).
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { readCheckpoint } from './checkpoint.ts';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(pkg, 'src', 'cli.ts');
// tsx's CLI, resolved like any dependency (the workspace root provides it), run with this node binary
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const args = (out: string) => ['--model', 'resnet8_tiny', '--optimizer', 'asam', '--epochs', '2', '--batch-size', '16',
  '--train-limit', '48', '--test-limit', '16', '--eval-batch-size', '16', '--checkpoint-every', '1', '--backend', 'cpu', '--out', out];

function run(a: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [tsxCli, cli, ...a], { env: process.env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('CLI kill + resume', () => {
  it('a run SIGKILLed after its first checkpoint resumes to bit-identical weights', async () => {
    const root = mkdtempSync(join(tmpdir(), 'asam-resume-'));
    const full = join(root, 'full');
    const killed = join(root, 'killed');

    const a = run(args(full));
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/results in .*full: config\.json, env\.json, metrics\.csv, result\.json/);

    const child = spawn(process.execPath, [tsxCli, cli, ...args(killed)], { env: process.env, stdio: 'ignore' });
    const ckpt = join(killed, 'checkpoint.bin');
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const timer = setInterval(() => {
        if (existsSync(ckpt)) { clearInterval(timer); child.kill('SIGKILL'); resolve(); }
        else if (Date.now() - t0 > 120_000) { clearInterval(timer); child.kill('SIGKILL'); reject(new Error('no checkpoint appeared')); }
      }, 20);
    });
    await new Promise((r) => child.on('exit', r));
    const mid = await readCheckpoint<{ globalStep: number; epoch: number; stepInEpoch: number }>(ckpt);
    expect(existsSync(join(killed, 'result.json'))).toBe(false); // it really died mid-run
    expect(mid.state.globalStep).toBeLessThan(6);

    const b = run(['--resume', '--out', killed]);
    expect(b.status, b.stderr).toBe(0);
    const resA = JSON.parse(readFileSync(join(full, 'result.json'), 'utf8'));
    const resB = JSON.parse(readFileSync(join(killed, 'result.json'), 'utf8'));
    expect(resB.resumedFrom).not.toBeNull();
    expect(resB.steps).toBe(resA.steps);
    expect(resB.finalTestAcc).toBe(resA.finalTestAcc);

    const ca = await readCheckpoint(join(full, 'checkpoint.bin'));
    const cb = await readCheckpoint(join(killed, 'checkpoint.bin'));
    expect(cb.tensors.map((t) => t.meta.name)).toEqual(ca.tensors.map((t) => t.meta.name));
    expect(ca.tensors.filter((t) => t.meta.group === 'optimizer').length).toBeGreaterThan(1);
    ca.tensors.forEach((t, i) => {
      const u = cb.tensors[i]!;
      expect(Buffer.from(u.data.buffer).equals(Buffer.from(t.data.buffer)), t.meta.name).toBe(true);
    });
    // train metrics of every epoch are identical too (they are part of the checkpointed state)
    const rows = (p: string) => readFileSync(join(p, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').slice(0, 6).join(','));
    expect(rows(killed)).toEqual(rows(full));
    // execution settings may be given on resume (the finished run just reports its result again)
    const c = run(['--resume', '--out', full, '--micro-batch', '8', '--progress-every', '3']);
    expect(c.status, c.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(full, 'config.json'), 'utf8')).microBatch).toBe(8);
  }, 240_000);

  it('CLI rejects bad flags with a message naming the flag', () => {
    const r1 = run(['--model', 'resnet20', '--out', join(tmpdir(), 'x'), '--epochs', 'two']);
    expect(r1.status).toBe(2);
    expect(r1.stderr).toMatch(/--epochs "two" is not a number/);
    const r2 = run(['--model', 'resnet20', '--out', join(tmpdir(), 'x'), '--bogus', '1']);
    expect(r2.stderr).toMatch(/unknown flag "--bogus"/);
    const r5 = run(['--resume', '--out', join(tmpdir(), 'x'), '--lr', '0.2']);
    expect(r5.stderr).toMatch(/--resume reuses .*config\.json; drop --lr \(only --backend, --data-dir, --micro-batch, --workers, --progress-every may be given\)/);
    const r3 = run(['--model', 'resnet21', '--out', join(tmpdir(), 'x')]);
    expect(r3.stderr).toMatch(/unknown model 'resnet21'; valid models: resnet20/);
    const r4 = run(['--help']);
    expect(r4.status).toBe(0);
    expect(r4.stdout).toMatch(/--optimizer/);
  }, 60_000);
});

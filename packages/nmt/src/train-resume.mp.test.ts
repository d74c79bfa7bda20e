import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initEngine } from '@asam/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpointSync as readCheckpoint } from '@asam/train';
import { resumeTestConfig } from './train-resume-config.ts';
import { toyDeps } from './train-toy.ts';
import { trainTranslation } from './train.ts';

const pkg = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs the child on `out`. With `stopAt`, the child's progress hook reports update `stopAt` on fd 3 and blocks, and
 * it is SIGKILLed then: the kill always lands at that update, never earlier or later.
 */
function child(out: string, stopAt?: number): Promise<{ code: number | null; signal: string | null; stdout: string; stoppedAt: number | null }> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', 'src/train-resume-child.ts', out, ...(stopAt === undefined ? [] : [String(stopAt)])];
    const p = spawn(process.execPath, args, { cwd: pkg, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stoppedAt: number | null = null;
    p.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    (p.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      const m = /stopped (\d+)/.exec(d.toString());
      if (m && stoppedAt === null) { stoppedAt = Number(m[1]); p.kill('SIGKILL'); }
    });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}): ${stderr}`));
      else if (stopAt !== undefined && stoppedAt === null) reject(new Error(`child ended (${signal ?? code}) before update ${stopAt}: ${stderr}`));
      else resolve({ code, signal, stdout, stoppedAt });
    });
  });
}

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('resume after kill', () => {
  it('a run killed mid-training resumes from its checkpoint and reproduces the uninterrupted run', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nmt-resume-'));
    const ckpt = path.join(out, 'checkpoint.bin');
    // Killed at update 9; checkpoints come every 4 updates, so the last one on disk is update 8's (mid-epoch).
    const killed = await child(out, 9);
    expect([killed.signal, killed.stoppedAt]).toEqual(['SIGKILL', 9]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')).status).toBe('running'); // it died mid-run
    expect(fs.existsSync(path.join(out, 'metrics.csv'))).toBe(false); // still in the first epoch
    const mid = readCheckpoint<{ globalStep: number; stepInEpoch: number }>(ckpt).meta;
    expect([mid.globalStep, mid.stepInEpoch]).toEqual([8, 8]);
    const at = mid.globalStep;

    const resumed = await child(out);
    expect(resumed.code).toBe(0);
    const r = JSON.parse(resumed.stdout.split('\n').find((l) => l.startsWith('RESULT '))!.slice(7));
    expect(r.resumedFrom).toEqual({ epoch: 0, step: 8 });
    expect(r.status).toBe('completed');
    const firstUpdate = Number(/update (\d+)/.exec(resumed.stdout)![1]);
    expect(firstUpdate).toBe(at + 1);

    const ref = fs.mkdtempSync(path.join(os.tmpdir(), 'nmt-ref-'));
    const u = await trainTranslation(resumeTestConfig(ref), {}, toyDeps({ train: 120, valid: 12, test: 12 }, 8));
    expect(u.steps).toBe(r.steps);
    const cols = (dir: string): string[][] => fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    const a = cols(out);
    const b = cols(ref);
    expect(a.length).toBe(b.length);
    // epoch, step, lr, train_loss, valid_loss, valid_bleu, valid_nll identical; timing columns differ.
    for (let i = 1; i < a.length; i++) for (const j of [0, 1, 2, 3, 4, 5, 6]) expect(a[i]![j]).toBe(b[i]![j]);
    expect(r.test).toEqual(u.test);
  }, 180_000);
});

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initEngine } from '@asam/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from './train-checkpoint.ts';
import { resumeTestConfig } from './train-resume-config.ts';
import { toyDeps } from './train-toy.ts';
import { trainTranslation } from './train.ts';

const pkg = fileURLToPath(new URL('..', import.meta.url));

function child(out: string, killWhen?: () => boolean): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/train-resume-child.ts', out], { cwd: pkg, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (killWhen?.()) p.kill('SIGKILL');
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}): ${stderr}`));
      else resolve({ code, signal, stdout });
    });
  });
}

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
});

describe('resume after kill', () => {
  it('a run killed mid-training resumes from its checkpoint and reproduces the uninterrupted run', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nmt-resume-'));
    const ckpt = path.join(out, 'checkpoint.bin');
    // Kill once a mid-epoch checkpoint past update 8 exists.
    const killed = await child(out, () => fs.existsSync(ckpt) && readCheckpoint<{ updates: number; batchIndex: number }>(ckpt).meta.updates >= 8);
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(out, 'result.json'))).toBe(false);
    const at = readCheckpoint<{ updates: number }>(ckpt).meta.updates;
    expect(at).toBeGreaterThanOrEqual(8);

    const resumed = await child(out);
    expect(resumed.code).toBe(0);
    const r = JSON.parse(resumed.stdout.split('\n').find((l) => l.startsWith('RESULT '))!.slice(7));
    expect(r.resumed).toBe(true);
    expect(r.status).toBe('completed');
    const firstUpdate = Number(/update (\d+)/.exec(resumed.stdout)![1]);
    expect(firstUpdate).toBe(at + 1);

    const ref = fs.mkdtempSync(path.join(os.tmpdir(), 'nmt-ref-'));
    const u = await trainTranslation(resumeTestConfig(ref), {}, toyDeps({ train: 120, valid: 12, test: 12 }, 8));
    expect(u.updates).toBe(r.updates);
    const cols = (dir: string): string[][] => fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    const a = cols(out);
    const b = cols(ref);
    expect(a.length).toBe(b.length);
    // epoch, updates, lr, train_loss, valid_loss, valid_bleu, valid_nll identical; timing columns differ.
    for (let i = 1; i < a.length; i++) for (const j of [0, 1, 2, 3, 4, 5, 8]) expect(a[i]![j]).toBe(b[i]![j]);
    expect(r.testBleu).toBe(u.testBleu);
  }, 180_000);
});

/** profile:engine and soak:engine run end to end at tiny sizes and write what they promise. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const tsx = (script: string, args: string[], env: Record<string, string> = {}): string => execFileSync(process.execPath,
  ['--import', 'tsx', new URL(script, import.meta.url).pathname, ...args],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env: { ...process.env, ...env } });

describe('engine scripts', () => {
  it('profile:engine prints the step and kernel table and writes the rows as JSON', () => {
    // as `pnpm … profile:engine -- …` run from `dir`: a relative --out lands in dir ($INIT_CWD)
    const dir = mkdtempSync(join(tmpdir(), 'asam-profile-'));
    const out = join(dir, 'p.json');
    const text = tsx('./profile.ts', ['--', '--batch=2', '--top', '5', '--out', 'p.json'], { INIT_CWD: dir });
    expect(text).toMatch(/backend wasm, ResNet-20, batch 2, sgd step \d+ ms/);
    // the printed table holds the `--top 5` kernels by time; which five depends on timing, so only its size is checked
    const tableRows = text.split('\n').filter((l) => /^\| [A-Za-z]\w* \| [\d.]+ \| [\d.]+% \| \d+ \|$/.test(l));
    expect(tableRows.length).toBe(5);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j).toMatchObject({ backend: 'wasm', model: 'resnet20', batch: 2, kind: 'sgd' });
    expect(j.rows.length).toBeGreaterThan(5);
    // the JSON lists every kernel the step ran (not only the top 5), whatever their order
    const kernels = j.rows.map((r: { kernel: string }) => r.kernel);
    for (const k of ['FusedConv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput']) expect(kernels).toContain(k);
    for (const r of j.rows) expect(r.ms).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('soak:engine samples tensors, buffers and RSS and reports zero tensor growth', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'asam-soak-')), 's.json');
    const text = tsx('./soak.ts', ['--steps', '4', '--every', '2', '--batch', '2', '--tfm-batch', '1', '--seq', '6', '--out', out]);
    const summary = JSON.parse(text.trim().split('\n').pop()!);
    expect(summary.runs.map((r: { kind: string }) => r.kind)).toEqual(['sgd', 'asam', 'sgd', 'asam']);
    for (const r of summary.runs) expect([r.tensorGrowth, r.bufferGrowth]).toEqual([0, 0]);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.runs[0].samples.map((s: { step: number }) => s.step)).toEqual([2, 4]);
  }, 120_000);
});

import { describe, expect, it } from 'vitest';
import { parseEngineBenchArgs } from './options.ts';

describe('bench:engine options', () => {
  it('defaults: batch 128, Transformer 32x32, 5 rounds, every backend, torch and data-parallel on', () => {
    expect(parseEngineBenchArgs([])).toEqual({
      steps: 5, batch: 128, tfmBatch: 32, seq: 32, cpuBatch: 8, cpuTfmBatch: 2, cpuSteps: 1,
      backends: undefined, torch: true, dataParallel: true, out: undefined, quick: false,
    });
  });
  it('--quick: batch 8, Transformer 2x8, 1 step, wasm only, no torch; explicit flags still win', () => {
    expect(parseEngineBenchArgs(['--quick'])).toMatchObject({ steps: 1, batch: 8, tfmBatch: 2, seq: 8, backends: ['wasm'], torch: false, quick: true });
    expect(parseEngineBenchArgs(['--quick', '--batch', '16', '--backends', 'wasm,cpu'])).toMatchObject({ batch: 16, backends: ['wasm', 'cpu'], steps: 1 });
  });
  it('reads every flag', () => {
    expect(parseEngineBenchArgs(['--steps=2', '--tfm-batch', '4', '--seq', '16', '--cpu-batch', '2', '--cpu-tfm-batch', '1',
      '--cpu-steps', '2', '--no-torch', '--no-data-parallel', '--batch', '5', '--out', 'x.json'])).toEqual({
      steps: 2, batch: 5, tfmBatch: 4, seq: 16, cpuBatch: 2, cpuTfmBatch: 1, cpuSteps: 2,
      backends: undefined, torch: false, dataParallel: false, out: 'x.json', quick: false,
    });
    expect(parseEngineBenchArgs(['--help'])).toBeNull();
  });
  it('refuses bad values naming the flag, the value and the valid range', () => {
    expect(() => parseEngineBenchArgs(['--steps', '0'])).toThrow(/--steps = "0" is invalid: expected an integer >= 1/);
    expect(() => parseEngineBenchArgs(['--seq', '2.5'])).toThrow(/--seq = "2.5" is invalid: expected an integer >= 4/);
    expect(() => parseEngineBenchArgs(['--backends', 'wasm,gpu'])).toThrow(/unknown backend "gpu"; valid: tensorflow-gpu, tensorflow, webgpu, wasm, cpu/);
    expect(() => parseEngineBenchArgs(['--batch', '7'])).toThrow(/--batch = 7 cannot be split over 2 data-parallel workers/);
    expect(() => parseEngineBenchArgs(['--stepz', '1'])).toThrow(/unknown flag --stepz/);
  });
});

describe('argvFlags (profile:engine, soak:engine)', () => {
  it('reads values and defaults, and names the tool and flag in errors', async () => {
    const { argvFlags } = await import('./common.ts');
    const f = argvFlags('soak:engine', ['node', 'x', '--steps', '40', '--by-shape', '--out']);
    expect(f.intFlag('steps', 500)).toBe(40);
    expect(f.intFlag('every', 25)).toBe(25);
    expect(f.has('by-shape')).toBe(true);
    expect(() => f.flag('out', '')).toThrow('soak:engine: --out needs a value.');
    expect(() => argvFlags('t', ['--batch', '0']).intFlag('batch', 1)).toThrow("t: --batch must be a positive integer, got '0'.");
  });
});

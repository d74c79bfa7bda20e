import type { EngineInfo } from '@asam/engine';
import { describe, expect, it } from 'vitest';
import { KINDS, median, tokensFor, type Kind, type Timing, type WorkloadResult } from './common.ts';
import { formatTable, replaceReadmeBlock, summarize, torchPerSec, type BackendResult, type TorchResult } from './report.ts';

const timings = (ms: Record<Kind, number>): Record<Kind, Timing> =>
  Object.fromEntries(KINDS.map((k) => [k, { medianMs: ms[k], samplesMs: [ms[k]] }])) as Record<Kind, Timing>;

function workload(batch: number, units: number, unit: 'img' | 'tok', ms: Record<Kind, number>): WorkloadResult {
  const zero = Object.fromEntries(KINDS.map((k) => [k, { tensors: 0, rssMiB: 0 }])) as WorkloadResult['growthAfterWarmup'];
  return { batch, unitsPerStep: units, unit, steps: timings(ms), tensorsAfterEachStep: [], rssMiBAfterEachStep: [], growthAfterWarmup: zero };
}

const engine = { backend: 'wasm' } as EngineInfo;
const wasm: BackendResult = {
  backend: 'wasm', engine,
  // 128 images: forward 0.5 s, SGD 4 s, SAM 6 s, ASAM 8 s -> 256 / 32 / 21.33 / 16 img/s
  resnet20: workload(128, 128, 'img', { forward: 500, sgd: 4000, sam: 6000, asam: 8000 }),
  transformer: workload(4, tokensFor(4, 8), 'tok', { forward: 100, sgd: 290, sam: 580, asam: 600 }),
};
const torch: TorchResult = {
  torch: '1.13', threads: 2, steps: 1, resnetBatch: 128, tfmBatch: 4, seqLen: 8,
  resnet20: timings({ forward: 100, sgd: 400, sam: 800, asam: 800 }), // SGD 320 img/s
  transformer: timings({ forward: 10, sgd: 29, sam: 58, asam: 60 }),
};

describe('bench:engine report', () => {
  it('counts the padded Transformer tokens as randomPairs / the PyTorch peer lay them out', () => {
    expect(tokensFor(4, 8)).toBe(8 + 7 + 6 + 8);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2);
  });
  it('summary: throughputs, time ratios and the ratio to PyTorch', () => {
    const s = summarize([wasm], 'wasm', torch, null, { workers1: { medianMs: 2000, imgPerSec: 64, samplesMs: [] }, workers2: { medianMs: 1000, imgPerSec: 128, samplesMs: [] } }, false);
    expect(s.backend).toBe('wasm');
    expect(s.forwardImgPerSec).toBeCloseTo(256);
    expect(s.sgdImgPerSec).toBeCloseTo(32);
    expect(s.asamImgPerSec).toBeCloseTo(16);
    expect(s.torchImgPerSec).toBeCloseTo(320);
    expect(s.sgdVsTorch).toBeCloseTo(0.1);
    expect(s.sgdOverForwardTime).toBeCloseTo(8);
    expect(s.asamOverSgdTime).toBeCloseTo(2);
    expect(s.torch1ThreadImgPerSec).toBeNull();
    expect(s.dataParallel2WorkersImgPerSec).toBe(128);
    expect(s.transformerSgdTokPerSec).toBeCloseTo(29 / 0.29);
    expect(torchPerSec(torch, 'transformer', 'sgd')).toBeCloseTo(29 / 0.029);
  });
  it('summary without results or torch is all nulls', () => {
    const s = summarize([{ backend: 'cpu', engine, error: 'no' }], 'wasm', null, null, null, true);
    expect(s).toMatchObject({ backend: null, sgdImgPerSec: null, torchImgPerSec: null, sgdVsTorch: null, quick: true });
  });
  it('table: one row per backend and workload, PyTorch rows, the data-parallel line', () => {
    const t = formatTable([wasm, { backend: 'webgpu', engine, error: 'no adapter' }], torch, null,
      { workers1: { medianMs: 2000, imgPerSec: 64, samplesMs: [] }, workers2: { medianMs: 1000, imgPerSec: 128, samplesMs: [] } }, 128);
    const rows = t.split('\n');
    expect(rows).toContain('| wasm | resnet20 | 128 | 256.0 img | 32.0 | 21.3 | 16.0 | 8.00 | 1.50 | 2.00 | 0.100 | – | 0/0/0/0 | 0/0/0/0 |');
    expect(rows.some((r) => r.startsWith('| webgpu | – | – | not available: no adapter'))).toBe(true);
    expect(rows.some((r) => r.startsWith('| torch 2 threads | resnet20 | 128 | 1280.0 | 320.0 | 160.0 | 160.0 | 4.00 | 2.00 | 2.00 |'))).toBe(true);
    expect(t).toMatch(/1 worker 64.0 img\/s, 2 workers 128.0 img\/s \(x2.00\)/);
  });
});

describe('the generated bench:engine block of a README', () => {
  it('replaces only the text between the markers, and refuses a file without them', () => {
    const md = 'intro\n<!-- bench:engine:start -->\nold table\n<!-- bench:engine:end -->\nrest\n';
    expect(replaceReadmeBlock(md, '| new |', 'README.md')).toBe('intro\n<!-- bench:engine:start -->\n| new |\n<!-- bench:engine:end -->\nrest\n');
    expect(() => replaceReadmeBlock('no markers', '| t |', 'x/README.md')).toThrow(/x\/README\.md: no <!-- bench:engine:start --> … <!-- bench:engine:end --> block/);
  });
});

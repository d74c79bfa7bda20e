import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import { defaultNormalizeFilter } from '@asam/core';
import { buildModel, createModelRegistry, listModels, ModelRegistry, BUILTIN_MODELS } from './registry.ts';
import { ChannelPad } from './layers.ts';

beforeAll(async () => { await initEngine({ backend: 'cpu' }); });

/**
 * Tolerance for parameter counts: 1% of the published figure, or half a unit of its last published digit when
 * that is larger (e.g. "1.7M" stands for anything in [1.65M, 1.75M)).
 */
function tolerance(paper: number): number {
  const s = (paper / 1e6).toString();
  const decimals = s.includes('.') ? (s.split('.')[1] as string).length : 0;
  return Math.max(0.01 * paper, 0.5 * 10 ** -decimals * 1e6);
}

describe('model registry', () => {
  it('builds every registered model and matches the published parameter counts', () => {
    const rows: string[] = [];
    for (const spec of listModels()) {
      const m = buildModel(spec.id, { skipInit: true });
      try {
        const n = m.trainableParams;
        const check = spec.paperParams === null ? 'tiny (no published figure)'
          : `paper ${(spec.paperParams / 1e6).toFixed(2)}M, diff ${(100 * (n - spec.paperParams) / spec.paperParams).toFixed(2)}%`;
        rows.push(`${spec.id.padEnd(18)} ${String(n).padStart(10)}  ${check}`);
        if (spec.paperParams !== null) expect(Math.abs(n - spec.paperParams), spec.id).toBeLessThanOrEqual(tolerance(spec.paperParams));
        else expect(n).toBeLessThan(200_000);
        expect(m.bnStats.length % 2).toBe(0);
        expect(m.bnStats.length).toBeGreaterThan(0);
      } finally {
        m.dispose();
      }
    }
    console.log(`model registry (trainable parameters):\n${rows.join('\n')}`);
    // exact counts, computed by hand for the architectures (see README): ResNet-20 option A, WRN-28-10, ResNet-50
    expect(rows.find((r) => r.startsWith('resnet20 '))).toContain(' 269722 ');
  }, 120_000);

  it('every family has a tiny variant', () => {
    const fams = new Set(BUILTIN_MODELS.map((s) => s.family));
    for (const f of fams) expect(BUILTIN_MODELS.some((s) => s.family === f && s.paperParams === null), f).toBe(true);
  });

  it('refuses duplicates, bad ids, and lists valid ids for unknown ones', () => {
    const r = createModelRegistry();
    const spec = BUILTIN_MODELS[0]!;
    expect(() => r.register(spec)).toThrow(/already registered/);
    expect(() => new ModelRegistry().register({ ...spec, id: 'ResNet-20' })).toThrow(/lower_snake/);
    expect(() => r.get('resnet21')).toThrow(/unknown model 'resnet21'; valid models: resnet20, resnet32/);
    expect(() => r.build('resnet20', { dropout: 0.3 })).toThrow(/no dropout option/);
  });

  it('keeps tfjs variable names (kernel/bias/gamma/beta/moving_*) also when a model is built twice', () => {
    const a = buildModel('resnet8_tiny', { skipInit: true });
    const b = buildModel('resnet8_tiny', { skipInit: true });
    try {
      for (const m of [a, b]) {
        for (const v of m.all) expect(v.name).toMatch(/\/(kernel|bias|gamma|beta|moving_mean|moving_variance)$/);
        for (const v of m.bnStats) expect(v.name).toMatch(/moving_(mean|variance)$/);
        // @asam/core's default ASAM filter: kernels and gammas normalised, betas (and biases) not
        for (const v of m.trainable) expect(defaultNormalizeFilter(v)).toBe(/(kernel|gamma)$/.test(v.name));
      }
      expect(b.prefix).not.toBe(a.prefix);
    } finally { a.dispose(); b.dispose(); }
  });

  it('BatchNorm uses the PyTorch recipe settings (momentum 0.9 in tfjs terms, epsilon 1e-5)', () => {
    const m = buildModel('resnet8_tiny', { skipInit: true });
    try {
      const bn = m.model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
      expect(bn.length).toBe(7);
      for (const l of bn) { const c = l.getConfig(); expect(c.momentum).toBe(0.9); expect(c.epsilon).toBe(1e-5); }
    } finally { m.dispose(); }
  });

  it('He init: conv kernels ~ N(0, 2/(k·k·cout)), seeded and reproducible', async () => {
    const a = buildModel('resnet20', { seed: 3 });
    const b = buildModel('resnet20', { seed: 3 });
    const c = buildModel('resnet20', { seed: 4 });
    try {
      const k = a.trainable.find((v) => v.name.endsWith('s3b2.conv1/kernel'))!; // 3x3x64x64
      const d = await k.data();
      let s2 = 0; let s = 0;
      for (const x of d) { s += x; s2 += x * x; }
      const mean = s / d.length;
      const std = Math.sqrt(s2 / d.length - mean * mean);
      expect(std).toBeGreaterThan(Math.sqrt(2 / (9 * 64)) * 0.97);
      expect(std).toBeLessThan(Math.sqrt(2 / (9 * 64)) * 1.03);
      expect(Math.abs(mean)).toBeLessThan(0.003);
      const db = await b.trainable.find((v) => v.name.endsWith('s3b2.conv1/kernel'))!.data();
      const dc = await c.trainable.find((v) => v.name.endsWith('s3b2.conv1/kernel'))!.data();
      expect(Array.from(db)).toEqual(Array.from(d));
      expect(Array.from(dc)).not.toEqual(Array.from(d));
      const fcb = await a.trainable.find((v) => v.name.endsWith('fc/bias'))!.data();
      for (const x of fcb) expect(Math.abs(x)).toBeLessThanOrEqual(1 / 8); // U(±1/√64)
    } finally { a.dispose(); b.dispose(); c.dispose(); }
  });

  it('tiny models run forward to [batch, classes] logits in train and inference mode', () => {
    for (const id of ['resnet8_tiny', 'wrn10_1_tiny', 'pyramidnet8_tiny', 'pyramidnet11_tiny', 'vgg11_bn_tiny', 'resnet10_tiny']) {
      const m = buildModel(id, { numClasses: 7, inputShape: [32, 32, 3], dropout: id.startsWith('wrn') ? 0.3 : 0 });
      try {
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1);
          for (const training of [true, false]) {
            const y = m.model.apply(x, { training }) as tf.Tensor;
            expect(y.shape, id).toEqual([2, 7]);
            expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
          }
        });
        expect(tf.memory().numTensors).toBe(before);
      } finally { m.dispose(); }
    }
  });

  it('ChannelPad (option-A / PyramidNet shortcut) appends zero channels', () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 1, 2]);
    const y = new ChannelPad({ before: 1, after: 2 }).apply(x) as tf.Tensor;
    expect(y.shape).toEqual([1, 2, 1, 5]);
    expect(Array.from(y.dataSync())).toEqual([0, 1, 2, 0, 0, 0, 3, 4, 0, 0]);
    x.dispose(); y.dispose();
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@asam/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { getPreset, listPresets, registerPreset } from './presets.ts';
import { MASK_VALUE, Transformer, causalMask, paddingMask } from './transformer.ts';

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
});

const PAD = 0;
function tiny(over: Partial<ReturnType<typeof getPreset>['arch']> = {}, vocab = 23): Transformer {
  return new Transformer({ arch: { ...getPreset('transformer_tiny').arch, ...over }, srcVocabSize: vocab, tgtVocabSize: vocab, padId: PAD, seed: 3 });
}

describe('presets', () => {
  it('registry is strict and lists valid names', () => {
    expect(listPresets()).toContain('transformer_iwslt_de_en');
    const iw = getPreset('transformer_iwslt_de_en').arch;
    expect([iw.encoderLayers, iw.decoderLayers, iw.dModel, iw.ffnDim, iw.heads, iw.dropout]).toEqual([6, 6, 512, 1024, 4, 0.3]);
    expect(iw.shareDecoderInputOutputEmbed).toBe(true);
    expect(iw.preNorm).toBe(false);
    expect(() => getPreset('nope')).toThrow(/transformer_small/);
    expect(() => registerPreset({ name: 'transformer_tiny', description: '', arch: iw })).toThrow(/already registered/);
    expect(() => registerPreset({ name: 'bad_heads', description: '', arch: { ...iw, heads: 3 } })).toThrow(/divisible/);
  });
});

describe('masks', () => {
  it('padding mask marks pad keys only', () => {
    const src = tf.tensor2d([[5, 6, 0], [7, 0, 0]], [2, 3], 'int32');
    const m = paddingMask(src, PAD);
    expect(m.shape).toEqual([2, 1, 1, 3]);
    expect(Array.from(m.dataSync(), (x) => x + 0)).toEqual([0, 0, MASK_VALUE, 0, MASK_VALUE, MASK_VALUE]);
    tf.dispose([src, m]);
  });
  it('causal mask blocks future keys only', () => {
    const m = causalMask(3);
    expect(m.shape).toEqual([1, 1, 3, 3]);
    expect(Array.from(m.dataSync())).toEqual([0, MASK_VALUE, MASK_VALUE, 0, 0, MASK_VALUE, 0, 0, 0]);
    m.dispose();
  });
});

describe('Transformer', () => {
  it('variable names follow tfjs conventions and shapes are right', () => {
    const m = tiny();
    for (const v of m.variables) expect(v.name).toMatch(/\/(kernel|bias|gamma|beta|embeddings)$/);
    expect(new Set(m.variables.map((v) => v.name)).size).toBe(m.variables.length);
    const src = tf.tensor2d([[3, 4, 5, 2], [6, 7, 2, 0]], [2, 4], 'int32');
    const prev = tf.tensor2d([[1, 8, 9], [1, 10, 0]], [2, 3], 'int32');
    const logits = m.forward(src, prev, false);
    expect(logits.shape).toEqual([6, 23]);
    tf.dispose([src, prev, logits]);
    m.dispose();
  });

  it('padding in the source does not change the output (padding mask works)', () => {
    const m = tiny();
    const prev = tf.tensor2d([[1, 8, 9]], [1, 3], 'int32');
    const a = tf.tensor2d([[3, 4, 5, 2]], [1, 4], 'int32');
    const b = tf.tensor2d([[3, 4, 5, 2, 0, 0, 0]], [1, 7], 'int32');
    const la = m.forward(a, prev);
    const lb = m.forward(b, prev);
    expect(tf.max(tf.abs(tf.sub(la, lb))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([prev, a, b, la, lb]);
    m.dispose();
  });

  it('a future target token does not change earlier positions (causal mask works)', () => {
    const m = tiny();
    const src = tf.tensor2d([[3, 4, 5, 2]], [1, 4], 'int32');
    const p1 = tf.tensor2d([[1, 8, 9, 10]], [1, 4], 'int32');
    const p2 = tf.tensor2d([[1, 8, 9, 17]], [1, 4], 'int32');
    const l1 = m.forward(src, p1).arraySync();
    const l2 = m.forward(src, p2).arraySync();
    for (let i = 0; i < 3; i++) for (let j = 0; j < 23; j++) expect(Math.abs(l1[i]![j]! - l2[i]![j]!)).toBeLessThan(1e-5);
    const diff = l1[3]!.reduce((s, x, j) => s + Math.abs(x - l2[3]![j]!), 0);
    expect(diff).toBeGreaterThan(1e-3);
    tf.dispose([src, p1, p2]);
    m.dispose();
  });

  for (const preNorm of [false, true]) {
    it(`incremental decoding equals the teacher-forced forward (preNorm=${preNorm}), with reordering`, () => {
      const m = tiny({ preNorm });
      const src = tf.tensor2d([[3, 4, 5, 6, 2], [7, 8, 2, 0, 0]], [2, 5], 'int32');
      const prevRows = [[1, 9, 10, 11, 12], [1, 13, 14, 15, 16]];
      const prev = tf.tensor2d(prevRows, [2, 5], 'int32');
      const full = tf.tidy(() => tf.reshape(tf.logSoftmax(m.forward(src, prev)), [2, 5, 23]).arraySync() as number[][][]);
      const before = tf.memory().numTensors;
      const st = m.startDecoding(src);
      let maxErr = 0;
      // Also exercise reorder: after step 2, swap rows and continue with swapped tokens.
      let order = [0, 1];
      for (let t = 0; t < 5; t++) {
        if (t === 2) {
          m.reorderState(st, [1, 0]);
          order = [1, 0];
        }
        const lp = m.decodeStep(st, order.map((r) => prevRows[r]![t]!));
        const a = lp.arraySync();
        lp.dispose();
        order.forEach((r, row) => {
          for (let j = 0; j < 23; j++) maxErr = Math.max(maxErr, Math.abs(a[row]![j]! - full[r]![t]![j]!));
        });
      }
      m.disposeState(st);
      expect(tf.memory().numTensors).toBe(before);
      expect(maxErr).toBeLessThan(1e-5);
      tf.dispose([src, prev]);
      m.dispose();
    });
  }

  it('weights round-trip by local name', () => {
    const a = tiny();
    const b = new Transformer({ arch: getPreset('transformer_tiny').arch, srcVocabSize: 23, tgtVocabSize: 23, padId: PAD, seed: 99 });
    expect(b.scope).not.toBe(a.scope);
    const w = a.getWeights();
    b.setWeights(w);
    for (const t of w.values()) t.dispose();
    const src = tf.tensor2d([[3, 4, 2]], [1, 3], 'int32');
    const prev = tf.tensor2d([[1, 5]], [1, 2], 'int32');
    const la = a.forward(src, prev);
    const lb = b.forward(src, prev);
    expect(Array.from(la.dataSync())).toEqual(Array.from(lb.dataSync()));
    tf.dispose([src, prev, la, lb]);
    a.dispose();
    b.dispose();
  });
});

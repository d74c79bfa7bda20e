import { describe, expect, it } from 'vitest';
import type { ImageDataset } from './cifar.ts';
import { channelStats, stratifiedSplit, subsetDataset } from './subset.ts';

const ds: ImageDataset = {
  name: 't', split: 'train', n: 4, height: 1, width: 2, channels: 3, numClasses: 2, classNames: ['a', 'b'],
  images: Uint8Array.from([0, 0, 0, 255, 255, 255, 10, 20, 30, 40, 50, 60, 1, 1, 1, 2, 2, 2, 255, 0, 0, 0, 0, 255]),
  labels: Int32Array.of(0, 1, 0, 1),
};

describe('subsets', () => {
  it('subsetDataset copies the chosen images and labels in order', () => {
    const s = subsetDataset(ds, [2, 0]);
    expect(s.n).toBe(2);
    expect(Array.from(s.labels)).toEqual([0, 0]);
    expect(Array.from(s.images)).toEqual([1, 1, 1, 2, 2, 2, 0, 0, 0, 255, 255, 255]);
    expect(() => subsetDataset(ds, [4])).toThrow(/index 4 .* outside 0\.\.3/);
  });
  it('stratifiedSplit holds out round(f·n_c) per class, disjoint and complete, reproducibly', () => {
    const labels = Int32Array.from({ length: 1000 }, (_, i) => i % 10);
    const a = stratifiedSplit(labels, 10, 0.1, 5);
    expect(a.held.length).toBe(100);
    const counts = new Array(10).fill(0);
    for (const i of a.held) counts[labels[i] as number]++;
    expect(counts).toEqual(new Array(10).fill(10));
    expect([...a.kept, ...a.held].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(stratifiedSplit(labels, 10, 0.1, 5)).toEqual(a);
    expect(stratifiedSplit(labels, 10, 0.1, 6).held).not.toEqual(a.held);
  });
  it('channelStats: mean and std per channel (hand-computed)', () => {
    const one: ImageDataset = { ...ds, n: 1, width: 2, images: Uint8Array.from([0, 51, 255, 255, 51, 255]) };
    const s = channelStats(one);
    expect(s.mean.map((v) => +v.toFixed(6))).toEqual([0.5, 0.2, 1]);
    expect(s.std.map((v) => +v.toFixed(6))).toEqual([0.5, 0, 0]);
  });
});

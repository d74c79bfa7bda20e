import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BACKEND_NAMES, initEngine } from './engine.ts';

describe('initEngine', () => {
  it('auto falls back past the absent native and WebGPU backends to wasm, and says why', async () => {
    const lines: string[] = [];
    const info = await initEngine({ backend: 'auto', log: (l) => lines.push(l) });
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.attempts.map((a) => a.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm']);
    expect(info.attempts.slice(0, 3).every((a) => !a.ok && typeof a.error === 'string' && a.error.length > 0)).toBe(true);
    expect(info.attempts[0]!.error).toMatch(/tfjs-node-gpu/);
    expect(info.attempts[3]).toEqual({ name: 'wasm', ok: true, error: null });
    expect(info.reason).toMatch(/tensorflow-gpu, tensorflow, webgpu unavailable/);
    expect(info.kernels).toEqual(expect.arrayContaining(['wasm:Conv2DBackpropFilter', 'wasm:UnsortedSegmentSum', 'grad:FusedBatchNorm', 'grad:Mean', 'wasm:ChannelBroadcast']));
    expect(info.wasm?.simd).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual(info);
  });

  it('is idempotent and switches backends on request', async () => {
    const a = await initEngine({ backend: 'wasm' });
    const b = await initEngine({ backend: 'wasm' });
    expect(b).toBe(a);
    const c = await initEngine({ backend: 'cpu' });
    expect(c).toMatchObject({ backend: 'cpu', requested: 'cpu', reason: 'requested explicitly' });
    expect(c.kernels).toContain('cpu:Conv2DBackpropFilter');
    expect(c.kernels.some((k) => k.startsWith('wasm:'))).toBe(false);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined(); // wasm overrides removed while on cpu
    const d = await initEngine({ backend: 'cpu', trainingKernels: false });
    expect(d.kernels).toEqual([]);
  });

  it('rejects an unknown backend, listing the valid ones', async () => {
    await expect(initEngine({ backend: 'webgl' as 'cpu' })).rejects.toThrow(
      `unknown backend 'webgl'; valid: auto, ${BACKEND_NAMES.join(', ')}`);
  });

  it('WebGPU: no adapter or no navigator.gpu means the attempt fails with the reason, then wasm', async () => {
    const noAdapter = await initEngine({ backend: 'auto', webgpuProvider: async () => ({ requestAdapter: async () => null }) });
    expect(noAdapter.attempts.find((x) => x.name === 'webgpu')?.error).toMatch(/requestAdapter\(\) returned null/);
    expect(noAdapter.backend).toBe('wasm');
    await initEngine({ backend: 'cpu' });
    const none = await initEngine({ backend: 'auto', webgpuProvider: async () => null });
    expect(none.attempts.find((x) => x.name === 'webgpu')?.error).toMatch(/no WebGPU implementation/);
    await expect(initEngine({ backend: 'webgpu', webgpuProvider: async () => null })).rejects.toThrow(/no backend could be initialised.*webgpu: no WebGPU/);
  });
});

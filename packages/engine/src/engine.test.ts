import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BACKEND_NAMES, gpuDeviceNodes, initEngine, installWebgpuGlobals, probeWebgpu } from './engine.ts';

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
    // the reason names why each backend was passed over, and `tried` lists every attempt in order
    expect(info.reason).toContain("tensorflow-gpu: npm package '@tensorflow/tfjs-node-gpu' is not installed");
    expect(info.reason).toContain("tensorflow: npm package '@tensorflow/tfjs-node' is not installed");
    expect(info.reason).toContain(`webgpu: ${info.attempts[2]!.error}`);
    expect(info.tried).toBe(info.attempts.map((a) => `${a.name}: ${a.ok ? 'ok' : a.error}`).join('; '));
    expect(info.tried).toMatch(/; wasm: ok$/);
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

  it('gpuDeviceNodes: on Linux a GPU needs a render node, /dev/nvidia<N> or /dev/dxg; elsewhere only a probe can tell', () => {
    const fs = (tree: Record<string, string[]>) => (dir: string) => tree[dir] ?? [];
    expect(gpuDeviceNodes('linux', fs({ '/dev': ['null', 'tty0', 'nvidiactl'] }))).toEqual({ checked: true, found: [] });
    expect(gpuDeviceNodes('linux', fs({ '/dev': ['dri', 'null'], '/dev/dri': ['card0', 'renderD128'] })))
      .toEqual({ checked: true, found: ['/dev/dri/renderD128'] });
    expect(gpuDeviceNodes('linux', fs({ '/dev': ['nvidia0', 'nvidiactl', 'dxg'] }))).toEqual({ checked: true, found: ['/dev/nvidia0', '/dev/dxg'] });
    expect(gpuDeviceNodes('darwin', fs({}))).toEqual({ checked: false, found: [] });
  });

  it('auto records the WebGPU outcome quietly: no device node means Dawn is never loaded; a probe runs Dawn in a child', async () => {
    const nodes = gpuDeviceNodes();
    await initEngine({ backend: 'cpu' }); // a fresh choice, not the cached one of an earlier auto request
    const info = await initEngine({ backend: 'auto' });
    const webgpu = info.attempts.find((a) => a.name === 'webgpu')!;
    if (nodes.checked && nodes.found.length === 0) {
      expect(webgpu).toEqual({ name: 'webgpu', ok: false, error: 'no GPU device on this machine',
        detail: 'no /dev/dri/renderD*, /dev/nvidia<N> or /dev/dxg; Dawn not loaded' });
      // the probe itself, run anyway: Dawn finds no adapter and whatever it printed is returned, not written to stderr
      // (where the optional `webgpu` package did not install, the probe says so instead)
      const p = await probeWebgpu().catch((e: unknown) => e as Error);
      if (p instanceof Error) {
        expect(p.message).toMatch(/npm package 'webgpu' \(Dawn for Node\) is not installed/);
      } else {
        expect(p.adapter).toBe(false);
        expect(p.description).toBeNull();
        expect(typeof p.stderr).toBe('string');
      }
    } else {
      expect(webgpu.ok || /Dawn found no GPU adapter|not installed|probe/.test(webgpu.error ?? '')).toBe(true);
    }
  });

  it('prints nothing on stderr: no Dawn/Vulkan warning, no tfjs "install our node backend" banner on the cpu backend', () => {
    const engine = fileURLToPath(new URL('./engine.ts', import.meta.url));
    const script = `
      import { initEngine } from ${JSON.stringify(engine)};
      const tf = await import('@tensorflow/tfjs-core');
      const auto = await initEngine({ backend: 'auto' });
      tf.tensor([1, 2]).dispose();
      await initEngine({ backend: 'cpu' });
      const t = tf.tensor([1, 2]); t.dataSync(); t.dispose();
      console.log(JSON.stringify({ auto: auto.backend, now: tf.getBackend() }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ now: 'cpu' });
    expect(r.stderr).not.toMatch(/Vulkan|Dawn|TensorFlow\.js in Node\.js|node backend/i);
    expect(r.stderr.trim()).toBe('');
  });
});

describe('installWebgpuGlobals', () => {
  it('defines the WebGPU constants Node lacks and leaves existing globals alone', () => {
    const g = globalThis as Record<string, unknown>;
    const name = 'GPUTestOnlyUsageConstants';
    expect(name in g).toBe(false);
    try {
      expect(installWebgpuGlobals({ [name]: { MAP_READ: 1 }, Math: 'not Math' })).toEqual([name]);
      expect(g[name]).toEqual({ MAP_READ: 1 });
      expect(g.Math).toBe(Math);
      expect(installWebgpuGlobals({ [name]: { MAP_READ: 2 } })).toEqual([]);
      expect(g[name]).toEqual({ MAP_READ: 1 });
    } finally {
      delete g[name];
    }
  });
});

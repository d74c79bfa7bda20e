/**
 * The browser example end to end: bundle it with esbuild, serve it on 127.0.0.1, open it in headless Debian
 * Chromium (playwright-core with executablePath) and check that SGD and ASAM train through compile() + fit()
 * on the wasm backend with the engine's training kernels: loss falls, both curves are drawn, nothing is logged
 * as an error. Skipped, with one line saying why, where /usr/bin/chromium is absent (scripts/setup.sh installs it).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { buildBrowserExample } from '../examples/browser/build';
import { serveStatic } from '../examples/browser/serve';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[browser e2e] skipped: ${CHROMIUM} not found (scripts/setup.sh installs Debian's chromium)`);

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface PageResult {
  backend: string;
  kernels: string[];
  runs: Record<string, { losses: number[]; valAcc: number[]; seconds: number }>;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.skipIf(!hasChromium)('browser example in headless Chromium', () => {
  it('trains SGD and ASAM with fit() on wasm + training kernels: loss falls, live curves drawn, no error logged', async () => {
    const work = await mkdtemp(join(tmpdir(), 'asam-browser-'));
    const dist = join(work, 'dist');
    await buildBrowserExample(dist);
    const server = await serveStatic(dist);
    const context = await chromium.launchPersistentContext(join(work, 'profile'), { executablePath: CHROMIUM, headless: true, args: FLAGS });
    const errors: string[] = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
      await page.goto(`${server.url}index.html?images=192&epochs=3&batch=32`);
      await page.waitForFunction(() => document.title === 'done' || document.title === 'error', null, { timeout: 150_000 });
      const status = await page.evaluate(() => document.getElementById('status')!.textContent);
      expect(errors, status ?? '').toEqual([]);
      expect(await page.title()).toBe('done');
      const r = (await page.evaluate(() => (window as unknown as { asamExample: unknown }).asamExample)) as PageResult;
      expect(r.backend).toBe('wasm');
      expect(r.kernels).toEqual(expect.arrayContaining(['wasm:Conv2DBackpropFilter', 'wasm:Conv2DBackpropInput', 'wasm:FusedBatchNorm']));
      for (const name of ['sgd', 'asam']) {
        const losses = r.runs[name]!.losses;
        expect(losses).toHaveLength(18); // 3 epochs of 6 batches, one clean-pass loss each
        expect(mean(losses.slice(-3))).toBeLessThan(0.75 * mean(losses.slice(0, 3)));
      }
      // both loss curves are on the canvas: pixels in SGD blue (#1f77b4) and ASAM red (#d62728)
      const colours = await page.evaluate(() => {
        const c = document.getElementById('chart') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let blue = 0;
        let red = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] === 0x1f && d[i + 1] === 0x77 && d[i + 2] === 0xb4) blue++;
          if (d[i] === 0xd6 && d[i + 1] === 0x27 && d[i + 2] === 0x28) red++;
        }
        return { blue, red };
      });
      expect(colours.blue).toBeGreaterThan(50);
      expect(colours.red).toBeGreaterThan(50);
    } finally {
      await context.close();
      await server.close();
      await rm(work, { recursive: true });
    }
  }, 240_000);
});

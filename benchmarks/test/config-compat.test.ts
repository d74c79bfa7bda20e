/**
 * The vision and translation configs must resolve exactly as they did before the zod schemas: a sweep resumes a cell
 * only when its saved config.json resolves to the same config. test/fixtures/resolved-configs.json holds what the
 * hand-written resolvers returned (or which error class they threw) for every committed cell, every experiment cell
 * and edge cases (made by scripts/snapshot-resolved-configs.ts at the commit it names).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveTranslationConfig } from '@asam/nmt';
import { resolveConfig, visionConfigOfRun } from '@asam/vision';
import { compatInputs, type CompatInput } from './config-compat-inputs.ts';

type Case = CompatInput & ({ resolved: unknown } | { error: string });
const fixture = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'resolved-configs.json'), 'utf8')) as { cases: Case[] };

const resolve = (task: 'vision' | 'nmt', input: unknown): unknown => (task === 'vision' ? resolveConfig(input as never) : resolveTranslationConfig(input as never));

/**
 * Fields added after the snapshot, with the default an older config gets: a config saved before them resolves to the
 * old resolution plus these (and so resumes: the runtime compares both configs resolved the same way).
 */
const ADDED_SINCE_SNAPSHOT: Record<'vision' | 'nmt', Record<string, unknown>> = {
  vision: {},
  nmt: { microBatch: null, workers: 1 }, // the translation task on @asam/train's runtime: micro-batches and workers
};
/**
 * Optimizer fields added after the snapshot (the ASAM parameter filter, the BatchNorm policy and the dropout masks of the
 * perturbed pass, now named in config.json).
 */
const OPTIMIZER_ADDED: Record<'vision' | 'nmt', Record<string, unknown>> = {
  vision: { normalizeParams: 'except-bias-and-beta', bnStatistics: 'clean-pass', perturbedDropout: 'reuse' },
  nmt: { perturbedDropout: 'reuse' },
};
const withAdded = (task: 'vision' | 'nmt', resolved: Record<string, unknown>): Record<string, unknown> => ({
  ...resolved, ...ADDED_SINCE_SNAPSHOT[task], optimizer: { ...(resolved.optimizer as object), ...OPTIMIZER_ADDED[task] },
});

/**
 * What a config.json saved as `was` holds after resumes rewrote it as `now`: `was` plus those of the fields added since
 * that the rewriting version knew (a file rewritten before a field was added lacks it), each at its default.
 */
const withAddedPresent = (task: 'vision' | 'nmt', was: Record<string, unknown>, now: Record<string, unknown>): Record<string, unknown> => {
  const full = withAdded(task, was);
  const present = (o: object, ...from: unknown[]) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => from.some((f) => f !== null && typeof f === 'object' && k in f)));
  return { ...present(full, was, now), optimizer: present(full.optimizer as object, was.optimizer, now.optimizer) };
};

describe('config compatibility with the resolvers before the zod schemas', () => {
  it('every frozen input resolves deep-equal to the old resolution, and every input the old code refused is refused with the same class', () => {
    expect(fixture.cases.length).toBeGreaterThan(150);
    for (const c of fixture.cases) {
      if ('resolved' in c) {
        expect(resolve(c.task, c.input), c.source).toStrictEqual(withAdded(c.task, c.resolved as Record<string, unknown>));
      } else {
        expect(() => resolve(c.task, c.input), c.source).toThrow();
        try {
          resolve(c.task, c.input);
        } catch (e) {
          expect((e as Error).name, c.source).toBe(c.error);
        }
      }
    }
  });

  it('the frozen inputs still are the inputs of today (committed run folders, every experiment cell)', () => {
    const frozen = new Map(fixture.cases.map((c) => [c.source, c.input]));
    const now = compatInputs();
    const committed = now.filter((c) => c.source.startsWith('results/'));
    expect(committed.length).toBeGreaterThanOrEqual(4);
    for (const c of now) {
      // an experiment or run folder added after the snapshot has no frozen twin; it is covered by the next test. A run
      // folder's config.json rewritten by a resume since holds the fields added before that resume, at their defaults.
      const was = frozen.get(c.source) as Record<string, unknown> | undefined;
      if (!was) continue;
      const rewritten = c.source.endsWith('/config.json') && JSON.stringify(c.input) !== JSON.stringify(was);
      expect(c.input, c.source).toStrictEqual(rewritten ? withAddedPresent(c.task, was, c.input as Record<string, unknown>) : was);
    }
  });

  it('every committed config.json resolves to itself (plus the fields added since, at their defaults), and its cell.json config (through the task adapter) to the same config', () => {
    for (const raw of compatInputs().filter((x) => x.source.endsWith('/config.json'))) {
      // a folder a newer sweep resumed holds the sectioned layout ({ format: 'asam-config/1', task, runtime, config }):
      // compared in the flat form it stands for (vision cells are the only ones resumed since)
      const sectioned = (raw.input as { format?: unknown }).format === 'asam-config/1';
      if (sectioned && raw.task !== 'vision') throw new Error(`${raw.source}: a sectioned ${raw.task} config.json; add its flat form here`);
      const c = sectioned ? { ...raw, input: visionConfigOfRun(raw.input, raw.source) } : raw;
      expect(resolve(c.task, c.input), c.source).toStrictEqual(withAdded(c.task, c.input as Record<string, unknown>));
      const cell = compatInputs().find((x) => x.source === c.source.replace(/config\.json$/, 'cell.json'))!;
      // The folders the adapter fills in from the machine the cell ran on (a translation cell also names its data
      // and tokenizer cache); they are not part of the run's identity, so a resume elsewhere compares without them.
      const machineKeys = c.task === 'vision' ? ['out'] : ['outDir', 'dataDir', 'cacheDir'];
      const saved = c.input as Record<string, unknown>;
      const here = Object.fromEntries(machineKeys.filter((k) => k in saved).map((k) => [k, saved[k]]));
      expect(resolve(cell.task, { ...(cell.input as object), ...here }), cell.source).toStrictEqual(withAdded(c.task, saved));
    }
  });
});

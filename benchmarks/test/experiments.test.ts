import { describe, expect, it } from 'vitest';
import { UnknownIdError } from '@asam/train';
import { expandGrid, PROFILES } from '../src/experiment.ts';
import { createExperimentRegistry } from '../src/experiments/index.ts';
import { taskModulePath } from '../src/tasks/registry.ts';
import * as fs from 'node:fs';

describe('the experiment registry', () => {
  const reg = createExperimentRegistry();
  it('every experiment expands for each of its profiles with unique cell ids and an adapter', () => {
    for (const d of reg.list()) {
      expect(fs.existsSync(taskModulePath(d.task)), d.task).toBe(true);
      for (const p of PROFILES) {
        if (!d.profiles[p]) continue;
        const ids = expandGrid(d, p).map((c) => c.id);
        expect(new Set(ids).size, `${d.id}/${p}`).toBe(ids.length);
      }
    }
  });
  it("a ρ sweep's controls are its reference experiment's runs, config for config, but for the longer schedule's patch", () => {
    let n = 0;
    for (const d of reg.list()) {
      for (const p of PROFILES) {
        const longer = d.profiles[p]?.longer;
        if (!longer?.controls || !d.rhoSweepOf) continue;
        const ref = expandGrid(reg.get(d.rhoSweepOf), p);
        for (const c of expandGrid(d, p).filter((x) => x.schedule && (longer.controls![x.optimizer!] ?? []).includes(x.rho!))) {
          const r = ref.find((x) => x.optimizer === c.optimizer && x.rho === c.rho && x.seed === c.seed);
          expect(r, `${d.id}/${c.id}: no ${d.rhoSweepOf} run at this ρ and seed`).toBeDefined();
          expect(c.config, `${d.id}/${c.id}`).toEqual({ ...r!.config, ...longer.patch });
          n++;
        }
      }
    }
    expect(n).toBe(4); // cpu: SAM ρ 0.05 and ASAM ρ 0.5, seeds 0 and 1
  });
  it('an unknown task is an UnknownIdError listing the tasks', () => {
    expect(() => taskModulePath('speech')).toThrow(UnknownIdError);
    expect(() => taskModulePath('speech')).toThrow("unknown task 'speech'; valid tasks: vision, nmt, scale_invariance, sharpness_gap, step_time");
  });
  it('uses the published ρ per dataset', () => {
    const rho = (id: string) => expandGrid(reg.get(id), 'paper').map((c) => `${c.optimizer}:${c.rho}`);
    expect(new Set(rho('cifar10_wrn28_10'))).toEqual(new Set(['sgd:0', 'sam:0.05', 'asam:0.5']));
    expect(new Set(rho('cifar100_wrn28_10'))).toEqual(new Set(['sgd:0', 'sam:0.1', 'asam:1']));
    expect(new Set(rho('iwslt14_transformer'))).toEqual(new Set(['sgd:0', 'sam:0.1', 'asam:0.2']));
    expect(reg.get('cifar10_wrn28_10').paper?.values).toEqual({ sgd: 96.34, sam: 96.98, asam: 97.28 });
    expect(reg.get('cifar100_wrn28_10').paper?.values).toEqual({ sgd: 81.56, sam: 83.42, asam: 83.68 });
    expect(reg.get('iwslt14_transformer').paper?.values).toEqual({ sgd: 34.86, sam: 34.78, asam: 35.02 });
  });
  it('the smoke profile is small: one seed, vision on a few hundred images', () => {
    for (const d of reg.forProfile('smoke')) expect(new Set(expandGrid(d, 'smoke').map((c) => c.seed)).size, d.id).toBe(1);
    const cells = reg.forProfile('smoke').flatMap((d) => expandGrid(d, 'smoke'));
    const v = cells.filter((c) => c.task === 'vision');
    const cifar = v.filter((c) => c.config.dataset === 'cifar10');
    expect(cifar.map((c) => c.optimizer)).toEqual(['sgd', 'sam', 'asam']);
    expect(cifar.every((c) => (c.config.trainLimit as number) <= 500)).toBe(true);
    // ImageNet smoke: the 42 sample JPEGs, a handful of steps
    const inet = v.filter((c) => c.config.dataset === 'imagenet');
    expect(inet.map((c) => c.optimizer)).toEqual(['sgd', 'sam', 'asam']);
    expect(inet.every((c) => c.config.imagenetFolder === 'imagenet-samples' && (c.config.maxStepsPerEpoch as number) <= 4)).toBe(true);
  });
  it('paper-profile vision cells refuse partial datasets', () => {
    for (const d of reg.forProfile('paper').filter((x) => x.task === 'vision')) {
      for (const c of expandGrid(d, 'paper')) expect((c.config.bench as { requireFullDataset?: boolean }).requireFullDataset, c.id).toBe(true);
    }
  });
});

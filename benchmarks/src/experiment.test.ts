import { describe, expect, it } from 'vitest';
import { ConfigError } from '@asam/train';
import { defineExperiment, expandGrid, ExperimentRegistry, matchesFilter, type ExperimentDef } from './experiment.ts';

const def = (over: Partial<ExperimentDef> = {}): ExperimentDef => ({
  id: 'toy_exp', title: 'toy', task: 'vision', description: 'd',
  base: { model: 'resnet20', epochs: 10, optimizer: { eta: 0.01 } },
  grid: { optimizer: ['sgd', 'sam', 'asam'], rho: { sam: [0.05], asam: [0.5, 1] }, seed: [0, 1] },
  profiles: { smoke: { base: { epochs: 1 }, grid: { seed: [0] } }, paper: {} },
  ...over,
});

describe('experiment registry', () => {
  it('refuses duplicate ids', () => {
    const r = new ExperimentRegistry([def()]);
    expect(() => r.register(def())).toThrow(/already registered/);
  });
  it('an unknown id lists the valid ones', () => {
    const r = new ExperimentRegistry([def(), def({ id: 'other_exp' })]);
    expect(() => r.get('nope')).toThrow(/unknown experiment 'nope'; valid experiments: toy_exp, other_exp/);
    expect(r.forProfile('smoke').map((d) => d.id)).toEqual(['toy_exp', 'other_exp']);
  });
  it('validates fields with the value and the valid choices', () => {
    expect(() => defineExperiment(def({ id: 'Bad-Id' }))).toThrow(/lower_snake/);
    expect(() => defineExperiment(def({ task: 'speech' as never }))).toThrow(/experiment toy_exp\.task = "speech" is invalid: expected one of "vision", "nmt"/);
    expect(() => defineExperiment(def({ grid: { optimizer: ['adam' as never] } }))).toThrow(/grid\.optimizer\[0\] = "adam" is invalid: expected one of "sgd", "sam", "asam"/);
    expect(() => defineExperiment(def({ grid: { optimizer: ['sam'], rho: { sam: [-1] } } }))).toThrow(/grid\.rho\.sam\[0\] = -1 is invalid: expected a finite number >= 0 \(a ρ value\)/);
    expect(() => defineExperiment(def({ grid: { optimizer: ['sam'] } }))).toThrow(/optimizer "sam" has no ρ list/);
    expect(() => defineExperiment(def({ profiles: { fast: {} } as never }))).toThrow(/profiles\.fast = \{\} is invalid: expected no such field; valid fields: smoke, quick, cpu, paper/);
    expect(() => defineExperiment(def({ profiles: {} }))).toThrow(/profiles = \{\} is invalid: expected at least one profile/);
    expect(() => defineExperiment(def({ grid: { seed: [0, 0] } }))).toThrow(/grid\.seed = \[0,0\] is invalid: expected a list without duplicates/);
    expect(() => defineExperiment(def({ grid: { optimizer: ['sgd'], seeds: [1] } as never }))).toThrow(/grid\.seeds = \[1\] is invalid: expected no such field; valid fields: optimizer, rho, seed; did you mean "seed"\?/);
    expect(() => defineExperiment(def({ paper: { setting: 's', values: { adam: 1 } as never, source: 'x' } }))).toThrow(/paper\.values\.adam = 1 .*valid fields: sgd, sam, asam/);
    expect(() => defineExperiment(def({ profiles: { smoke: { grid: { optimizer: ['asam'], rho: { asam: [] } } } } }))).toThrow(/profiles\.smoke\.grid\.rho\.asam = \[\] is invalid: expected a non-empty list of ρ values/);
    expect(() => defineExperiment(def({ profiles: { smoke: { grid: { optimizer: ['asam'], rho: { asam: [] } } } } }))).toThrow(ConfigError);
    expect(defineExperiment(def())).toEqual(def());
  });
});

describe('expandGrid', () => {
  it('expands optimizer × ρ × seed with stable ids and merged configs', () => {
    const cells = expandGrid(def(), 'paper');
    expect(cells.map((c) => c.id)).toEqual([
      'sgd-seed0', 'sgd-seed1', 'sam-rho0.05-seed0', 'sam-rho0.05-seed1',
      'asam-rho0.5-seed0', 'asam-rho0.5-seed1', 'asam-rho1-seed0', 'asam-rho1-seed1',
    ]);
    const a = cells.find((c) => c.id === 'asam-rho0.5-seed1')!;
    expect(a.config).toEqual({ model: 'resnet20', epochs: 10, seed: 1, optimizer: { eta: 0.01, method: 'asam', rho: 0.5 } });
    expect(cells[0]!.config.optimizer).toEqual({ eta: 0.01, method: 'none', rho: 0 });
  });
  it('applies the profile patch and grid override', () => {
    const cells = expandGrid(def(), 'smoke');
    expect(cells).toHaveLength(4);
    expect(cells.every((c) => c.config.epochs === 1 && c.seed === 0 && c.profile === 'smoke')).toBe(true);
    expect(() => expandGrid(def(), 'cpu')).toThrow(/has no profile "cpu"; it has: smoke, paper/);
  });
  it("a ρ sweep's labelled longer schedule adds the same grid points, config patched, ids suffixed; misuse is named", () => {
    const longer = { label: 'e20', patch: { epochs: 20 }, rho: { asam: [1] }, reason: 'still fitting' };
    const cells = expandGrid(def({ rhoSweepOf: 'other_exp', profiles: { paper: { longer } } }), 'paper');
    expect(cells.filter((c) => c.schedule).map((c) => [c.id, c.config.epochs, c.rho, c.seed])).toEqual([['asam-rho1-seed0-e20', 20, 1, 0], ['asam-rho1-seed1-e20', 20, 1, 1]]);
    expect(cells.find((c) => c.id === 'asam-rho1-seed0')!.config.epochs).toBe(10);
    expect(cells).toHaveLength(10);
    expect(() => defineExperiment(def({ profiles: { paper: { longer } } }))).toThrow(/profiles\.paper\.longer .*belongs to a ρ sweep: set rhoSweepOf/);
    expect(() => defineExperiment(def({ rhoSweepOf: 'other_exp', profiles: { paper: { longer: { ...longer, rho: { asam: [2] } } } } })))
      .toThrow(/profiles\.paper\.longer\.rho\.asam = 2 is invalid: expected one of the grid's ρ values for asam \(0\.5, 1\)/);
    expect(() => defineExperiment(def({ rhoSweepOf: 'other_exp', profiles: { paper: { longer: { ...longer, label: 'E-20' } } } }))).toThrow(/profiles\.paper\.longer\.label = "E-20" is invalid/);
  });
  it('standardSeeds keeps the standard-schedule runs of the longer ρ values at those seeds only; a seed off the grid is named', () => {
    const longer = { label: 'e20', patch: { epochs: 20 }, rho: { asam: [1] }, reason: 'still fitting', standardSeeds: [0] };
    const ids = expandGrid(def({ rhoSweepOf: 'other_exp', profiles: { paper: { longer } } }), 'paper').map((c) => c.id);
    expect(ids).toEqual([
      'sgd-seed0', 'sgd-seed1', 'sam-rho0.05-seed0', 'sam-rho0.05-seed1', 'asam-rho0.5-seed0', 'asam-rho0.5-seed1',
      'asam-rho1-seed0', 'asam-rho1-seed0-e20', 'asam-rho1-seed1-e20',
    ]);
    expect(() => defineExperiment(def({ rhoSweepOf: 'other_exp', profiles: { paper: { longer: { ...longer, standardSeeds: [3] } } } })))
      .toThrow(/profiles\.paper\.longer\.standardSeeds = 3 is invalid: expected one of the grid's seeds \(0, 1\)/);
  });
  it("a longer schedule's controls rerun the reference experiment's ρ values on it at every seed, the config the reference run's patched", () => {
    const ref = def({ id: 'ref_exp', grid: { optimizer: ['sgd', 'sam', 'asam'], rho: { sam: [0.05], asam: [0.5] }, seed: [0, 1] } });
    const longer = { label: 'e20', patch: { epochs: 20 }, rho: { asam: [1] }, reason: 'still fitting', controls: { sam: [0.05], asam: [0.5] } };
    const sweep = def({ rhoSweepOf: 'ref_exp', grid: { optimizer: ['sam', 'asam'], rho: { sam: [0.1], asam: [1] }, seed: [0, 1] }, profiles: { paper: { longer } } });
    const cells = expandGrid(sweep, 'paper');
    const controls = cells.filter((c) => c.rho === 0.05 || c.rho === 0.5);
    expect(controls.map((c) => [c.id, c.schedule, c.config.epochs])).toEqual([
      ['sam-rho0.05-seed0-e20', 'e20', 20], ['sam-rho0.05-seed1-e20', 'e20', 20], ['asam-rho0.5-seed0-e20', 'e20', 20], ['asam-rho0.5-seed1-e20', 'e20', 20],
    ]);
    for (const c of controls) {
      const r = expandGrid(ref, 'paper').find((x) => x.id === c.id.replace(/-e20$/, ''))!;
      expect(c.config).toEqual({ ...r.config, epochs: 20 });
    }
    expect(() => defineExperiment(def({ rhoSweepOf: 'ref_exp', profiles: { paper: { longer: { ...longer, controls: { asam: [1] } } } } })))
      .toThrow(/profiles\.paper\.longer\.controls\.asam = 1 is invalid: expected a ρ value of the reference experiment for asam, not one of this grid's \(0\.5, 1\)/);
  });
  it('a task without an optimizer axis gives one cell per seed', () => {
    const cells = expandGrid(def({ task: 'step_time', grid: {}, profiles: { cpu: {} } }), 'cpu');
    expect(cells.map((c) => c.id)).toEqual(['seed0']);
    expect(cells[0]!.optimizer).toBeNull();
  });
  it('filters cells for --only', () => {
    const cells = expandGrid(def(), 'paper');
    const ids = (f: string) => cells.filter((c) => matchesFilter(c, f)).map((c) => c.id);
    expect(ids('optimizer=sam')).toEqual(['sam-rho0.05-seed0', 'sam-rho0.05-seed1']);
    expect(ids('sam-*')).toEqual(['sam-rho0.05-seed0', 'sam-rho0.05-seed1']);
    expect(ids('*seed1')).toHaveLength(4);
    expect(ids('toy_exp/sgd-seed0,rho=1')).toEqual(['sgd-seed0', 'asam-rho1-seed0', 'asam-rho1-seed1']);
    expect(() => ids('colour=red')).toThrow(/unknown key "colour"/);
  });
});

/**
 * The conformance suite of `@asam/core/testing` run over every perturbation rule × every base optimizer of
 * `BASE_OPTIMIZERS`; each rule also reproduces its cases of the PyTorch reference fixture.
 */
import { describe, expect, it } from 'vitest';
import { asam, sam } from '@asam/core';
import { describeOptimizerConformance, referenceFixture, type MakeOptimizer, type ReferenceCase } from '@asam/core/testing';
import { useCpu } from './helpers';

const rules: { name: string; make: MakeOptimizer; reference: (c: ReferenceCase) => boolean }[] = [
  {
    name: 'sam',
    make: (base, s) => sam(base, { rho: s.rho, weightDecay: s.weightDecay }),
    reference: (c) => c.method === 'sam',
  },
  {
    name: 'asam (element-wise)',
    make: (base, s) => asam(base, { rho: s.rho, eta: 0.01, weightDecay: s.weightDecay }),
    reference: (c) => c.method === 'asam' && c.eta === 0.01 && c.p === 2 && c.normalization === 'elementwise',
  },
  {
    name: 'asam (filter-wise)',
    make: (base, s) => asam(base, { rho: s.rho, eta: 0.01, normalization: 'filterwise', weightDecay: s.weightDecay }),
    reference: (c) => c.method === 'asam' && c.eta === 0.01 && c.p === 2 && c.normalization === 'filterwise',
  },
  {
    name: 'asam (p = inf)',
    make: (base, s) => asam(base, { rho: s.rho, eta: 0.01, p: 'inf', weightDecay: s.weightDecay }),
    reference: (c) => c.method === 'asam' && c.eta === 0.01 && c.p === 'inf' && c.normalization === 'elementwise',
  },
];

for (const r of rules) describeOptimizerConformance(r.name, r.make, { reference: r.reference, setup: useCpu });

describe('reference fixture coverage', () => {
  it('every case of the PyTorch fixture is checked by exactly one rule', () => {
    const { cases } = referenceFixture();
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) expect(rules.filter((r) => r.reference(c)).map((r) => r.name), c.id).toHaveLength(1);
  });
});

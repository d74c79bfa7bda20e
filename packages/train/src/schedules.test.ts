import { describe, expect, it } from 'vitest';
import { constantSchedule, cosineSchedule, inverseSqrtSchedule } from './schedules.ts';

describe('schedules', () => {
  it('cosine: lr at t=0, T/4, T/2 and T; clamped outside [0, T]', () => {
    const s = cosineSchedule(0.1);
    expect(s(0, 100)).toBe(0.1);
    expect(s(25, 100)).toBeCloseTo(0.05 * (1 + Math.SQRT1_2), 12);
    expect(s(50, 100)).toBeCloseTo(0.05, 12);
    expect(s(100, 100)).toBeCloseTo(0, 12);
    expect(s(150, 100)).toBeCloseTo(0, 12);
  });
  it('constant stays put; inverse_sqrt warms up linearly, then decays as 1/sqrt(t)', () => {
    expect(constantSchedule(0.3)(77, 100)).toBe(0.3);
    const s = inverseSqrtSchedule({ lr: 1e-3, warmupSteps: 100, warmupInitLr: 0 });
    expect(s(50, 0)).toBeCloseTo(5e-4, 15);
    expect(s(100, 0)).toBeCloseTo(1e-3, 15);
    expect(s(400, 0)).toBeCloseTo(5e-4, 15);
  });
});

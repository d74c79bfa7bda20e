/**
 * Learning-rate schedules: functions of the global step (0-based) and the run's total steps, so a resumed run
 * continues the same curve. The runtime sets the optimizer's rate from one of these before every step.
 */

/** A schedule: the learning rate of global step `step` of a run of `totalSteps` steps. */
export type Schedule = (step: number, totalSteps: number) => number;

/** The same rate at every step. */
export function constantSchedule(lr: number): Schedule {
  return () => lr;
}

/** Cosine decay to 0 over the run, per step: lr_t = lr · ½(1 + cos(π t / T)) (Loshchilov & Hutter 2017). */
export function cosineSchedule(lr: number): Schedule {
  return (step, totalSteps) => {
    const t = Math.min(Math.max(step, 0), totalSteps);
    return lr * 0.5 * (1 + Math.cos((Math.PI * t) / Math.max(1, totalSteps)));
  };
}

/**
 * fairseq's `inverse_sqrt`: linear warm-up from `warmupInitLr` to `lr` over `warmupSteps` steps, then
 * lr · sqrt(warmupSteps / t) (Vaswani et al. 2017 with fairseq's parametrisation).
 */
export function inverseSqrtSchedule(o: { lr: number; warmupSteps: number; warmupInitLr: number }): Schedule {
  return (step) => {
    if (step < o.warmupSteps) return o.warmupInitLr + (step * (o.lr - o.warmupInitLr)) / o.warmupSteps;
    return o.lr * Math.sqrt(o.warmupSteps / step);
  };
}

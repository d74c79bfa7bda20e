/**
 * The state the cpu sweep's cells were checkpointed with before @asam/train's runtime (the older image-classification
 * trainer's `epochCorrect`, `epochSeen`, rows without a step column) converts to the runtime's state, so those cells
 * resume where they stopped. The fixture is that state as committed (fixtures/legacy-vision-state.json names where it
 * comes from); resuming such a checkpoint bit for bit is tested in @asam/vision (resume-legacy.test.ts), and the
 * committed cell resumed with the runtime gave the older code's next metrics rows exactly (see the issue note).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeStateOf } from '@asam/train';
import { describe, expect, it } from 'vitest';

const fixture = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'legacy-vision-state.json'), 'utf8')) as {
  state: { rows: Array<Record<string, number>>; epochCorrect: number; epochSeen: number; epochLossSum: number };
};

describe('the cpu sweep\'s checkpoint state from before the runtime', () => {
  it('converts: position, running sums, every row with its step, and the best epoch by test accuracy', () => {
    const old = fixture.state;
    const st = runtimeStateOf(old, { bestMetric: 'acc', evalSplit: 'test', stepsPerEpoch: 32 });
    expect(st).toMatchObject({ runtime: 1, epoch: 96, stepInEpoch: 31, globalStep: 3103, epochWeight: old.epochSeen, epochLossSum: old.epochLossSum });
    expect(st.epochSums).toEqual({ acc: old.epochCorrect });
    expect(st.rows).toHaveLength(96);
    expect(st.rows.map((r) => r.step)).toEqual(old.rows.map((r) => r.epoch! * 32));
    st.rows.forEach((r, i) => expect({ ...r, step: undefined }).toEqual({ ...old.rows[i], step: undefined }));
    const best = Math.max(...old.rows.map((r) => r.test_acc!));
    expect(st.best).toEqual({ epoch: old.rows.find((r) => r.test_acc === best)!.epoch, value: best });
  });
});

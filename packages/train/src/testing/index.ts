/** Test helpers for tasks built on @asam/train. */
export { writeLegacyNmtCheckpoint, writeLegacyVisionCheckpoint } from './legacy-writers.ts';
export type { LegacyTensor } from './legacy-writers.ts';

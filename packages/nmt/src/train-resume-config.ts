/** The toy run shared by the resume test and its child process. */
import type { resolveTranslationConfig } from './train-config.ts';

/** Config of the resume test's toy run (cpu-sized: ~50 updates, checkpoint every 4). */
export function resumeTestConfig(outDir: string): Parameters<typeof resolveTranslationConfig>[0] {
  return {
    outDir,
    dataDir: '/nonexistent-data',
    cacheDir: '/nonexistent-cache',
    preset: 'transformer_tiny',
    archOverrides: { dropout: 0.1 },
    optimizer: { method: 'sam', rho: 0.05 },
    lr: 3e-3,
    warmupUpdates: 10,
    warmupInitLr: 1e-4,
    maxTokens: 60,
    maxLen: 10,
    maxEpochs: 2,
    checkpointEveryUpdates: 4,
    logEveryUpdates: 1,
    search: { kind: 'greedy', batchSentences: 16 },
  };
}

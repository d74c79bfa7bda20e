/**
 * `soak:engine` — memory over many training steps: tensor count and RSS must stay flat.
 *
 * Usage: pnpm --filter @asam/benchmarks soak:engine [--steps 500] [--batch 32] [--tfm-batch 8]
 *        [--seq 32] [--backend wasm] [--every 25] [--out file.json] [--help]
 * Runs `--steps` SGD steps and `--steps` ASAM steps of ResNet-20 and of the Transformer and samples the
 * tensor count, the backend's buffer count and process RSS every `--every` steps (soak-run.ts). Progress on
 * stderr; results in benchmarks/runs/engine/soak-<time>.json (ignored by git) (`--out`: relative to the directory the command
 * was run in); the last stdout line is one JSON summary. A bad flag is one line on stderr and exit code 2; the
 * flags are read before tfjs is loaded.
 */
import { runCli } from '@asam/cli';
import { parseSoakArgs } from './options.ts';

void runCli(async () => {
  const o = parseSoakArgs(process.argv.slice(2));
  const { runSoak } = await import('./soak-run.ts');
  await runSoak(o);
});

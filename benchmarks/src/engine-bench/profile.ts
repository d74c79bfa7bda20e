/**
 * `profile:engine` — where the time of one training step goes, kernel by kernel (`tf.profile`).
 *
 * Usage: pnpm --filter @asam/benchmarks profile:engine [--model resnet20|transformer] [--backend wasm]
 *        [--batch 128] [--kind sgd|sam|asam] [--top 25] [--by-shape] [--out file.json] [--help]
 * Models: ResNet-20 from @asam/vision on random 32x32x3 images, momentum 0.9 (SGD = method 'none');
 * `transformer`: @asam/nmt's `transformer_small` (V = 8000) on random pairs of 32 tokens, Adam, as
 * bench:engine builds it (`--batch` = sentence pairs, default 32).
 * Prints the step and forward-only wall times (median of 3), then kernel milliseconds summed over one
 * profiled step, by kernel name (`--by-shape`: by name and input shapes). `--out` writes the same rows as JSON
 * (a relative path is taken from the directory the command was run in). A bad flag is one line on stderr and
 * exit code 2; the flags are read before tfjs is loaded (profile-run.ts holds the run).
 */
import { runCli } from '@asam/cli';
import { parseProfileArgs } from './options.ts';

void runCli(async () => {
  const o = parseProfileArgs(process.argv.slice(2));
  const { runProfile } = await import('./profile-run.ts');
  await runProfile(o);
});

/**
 * @asam/cli: the one command-line convention of the project's programs (vision and nmt training, benchmarks),
 * on commander.
 *
 *   const cmd = createCommand({ name: 'pnpm --filter @asam/x train --', description: '…' });
 *   addSharedOptions(cmd, { out: {}, optimizer: { default: 'asam' }, dataDir: true, resume: true, backend: true });
 *   addOption(cmd, { flags: '--epochs <n>', kind: 'int', min: 1, default: 10, help: 'passes over the data' });
 *   void runCli(async () => {
 *     const o = parseCommand<{ out?: string; epochs: number }>(cmd, process.argv.slice(2));
 *     const out = requireOption(o.out, '--out');
 *     …
 *   });
 *
 * - `--flag value` and `--flag=value`; bare `--` separators are dropped (pnpm passes them through);
 * - an unknown flag is answered with the nearest valid one; numbers, integers and choices are checked;
 * - every value option states its default, and `--help` shows it;
 * - path options (`kind: 'path'`, `--out`, `--data-dir`) are resolved against the directory the user ran the
 *   command in ($INIT_CWD under pnpm / npm scripts, else the working directory);
 * - `runCli` prints a user error (UsageError, config errors, missing data) as one line and exits with 2;
 * - run folders: `prepareRunFolder` (new / resume / finished / refused, `--overwrite`), `startConsoleLog`
 *   (log.txt), `collectRunEnv` + `recordRunEnv` (env.json once per run, env-resume.jsonl per resume), written through
 *   @asam/train's RunFolder (one writer per run-folder file);
 * - `asam train <task>` (bin `asam`; `@asam/cli/train`'s `runTrainCommand` for a registry of your own): every
 *   registered task through @asam/train's `runTask`, with one set of runtime flags.
 */
export { CliExit, UsageError, USER_ERROR_NAMES, USAGE_EXIT_CODE, isUserError, oneLine, runCli } from './errors.ts';
export type { RunCliOptions } from './errors.ts';
export {
  BACKENDS, METHODS, NATIVE_SWITCH, addOption, addSharedOptions, backendFrom, mirrorFrom, nativeKernelsFrom, createCommand, givenFlags, longFlags, nearest, parseCommand, requireOption,
} from './command.ts';
export type { BackendChoice, CreateCommandOptions, MethodName, OptionSpec, SharedOptionsSpec, ValueKind } from './command.ts';
export { invocationDir, resolveUserPath } from './paths.ts';
export { VERSION_PACKAGES, chosenBackend, collectRunEnv, describeAttempts, packageVersion } from './env-info.ts';
export type { EngineReport, RunEnv, RunEnvInput } from './env-info.ts';
export { CLI_RUN_FILES, discardRun, firstMissingFolder, inspectRunFolder, markRunStopped, prepareRunFolder, readRunJson, runFileFix, START_AGAIN_FIX, readRunEnv, recordRunEnv, runInFolder, startConsoleLog } from './run-folder.ts';
export type { PrepareRunFolderOptions, RunFolderMode, RunFolderState, RunInFolderOptions } from './run-folder.ts';
export { STOP_SIGNALS, catchStopSignals, exitCodeOf } from './stop.ts';
export type { CatchStopOptions, StopRequest, StopSignalName } from './stop.ts';

/**
 * User errors and the `runCli` wrapper: a mistake the user can fix (a bad flag, a bad config value, missing data,
 * a run folder that is already taken) ends the process with one line on stderr and exit code 2, never a stack trace.
 */

/** A mistake in how the command was called; `runCli` prints its message on one line and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Ends the program quietly with `code` (thrown by parseCommand after `--help` was printed). */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'CliExit';
  }
}

/**
 * Names of error classes (`error.name`) that are user errors wherever they come from: config validation
 * (@asam/train's ConfigError and its subclasses TrainConfigError, TranslationConfigError), an id no registry holds
 * (@asam/train's UnknownIdError), data that is not there or not readable (DataNotFoundError,
 * DataFormatError), a run folder another process is training (RunLockedError) and this package's own UsageError. Matched by name so that this package depends on none of them.
 */
export const USER_ERROR_NAMES: readonly string[] = ['UsageError', 'ConfigError', 'TrainConfigError', 'TranslationConfigError', 'UnknownIdError', 'DataNotFoundError', 'DataFormatError', 'ResumeError', 'MissingToolError', 'RunFolderError', 'RunLockedError'];

/** Exit code of a user error (the shell convention for "wrong usage"). */
export const USAGE_EXIT_CODE = 2;

/**
 * Collapses a (possibly multi-line) message into one line: lines trimmed, blank ones dropped; `- item` list lines
 * become `a, b, c`, and the text after a list is set off with `; `.
 */
export function oneLine(message: string): string {
  let out = '';
  let inList = false;
  for (const raw of message.split(/\r?\n/)) {
    const l = raw.trim();
    if (l === '') continue;
    const item = /^[-*] (.*)$/.exec(l);
    if (item) {
      out += out === '' ? item[1] : `${inList ? ', ' : ' '}${item[1]}`;
      inList = true;
    } else {
      out += out === '' ? l : `${inList ? '; ' : ' '}${l}`;
      inList = false;
    }
  }
  return out;
}

/** Whether `e` is a user error: one of {@link USER_ERROR_NAMES}, or an instance of one of `extra`. */
export function isUserError(e: unknown, extra: ReadonlyArray<abstract new (...args: never[]) => Error> = []): e is Error {
  if (!(e instanceof Error)) return false;
  return USER_ERROR_NAMES.includes(e.name) || extra.some((C) => e instanceof C);
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** More error classes to treat as user errors (one line, exit 2). */
  userErrors?: ReadonlyArray<abstract new (...args: never[]) => Error>;
  /** Where messages go (default process.stderr). */
  stderr?: { write(s: string): unknown };
  /** How the process ends (default process.exit); tests pass a recorder. */
  exit?: (code: number) => void;
}

/**
 * Runs `main` and ends the process: exit code `main`'s return value (default 0); a user error (see
 * {@link isUserError}) prints `error: <message on one line>` and exits with 2; anything else is a bug or a
 * failure of the machine and prints `error: <message>` plus its stack, exit 1.
 *
 *   runCli(async () => { const o = parseCommand(cmd, process.argv.slice(2)); ...; return 0; });
 */
export async function runCli(main: () => Promise<number | void>, o: RunCliOptions = {}): Promise<void> {
  const stderr = o.stderr ?? process.stderr;
  const exit = o.exit ?? ((code: number) => process.exit(code));
  let code: number;
  try {
    const r = await main();
    code = typeof r === 'number' ? r : (process.exitCode as number | undefined) ?? 0;
  } catch (e) {
    if (e instanceof CliExit) {
      code = e.code;
    } else if (isUserError(e, o.userErrors)) {
      stderr.write(`error: ${oneLine(e.message)}\n`);
      code = USAGE_EXIT_CODE;
    } else {
      stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      code = 1;
    }
  }
  exit(code);
}

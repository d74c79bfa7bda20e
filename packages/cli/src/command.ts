/**
 * The project's command-line convention on commander: `--flag value` and `--flag=value`, a bare `--` accepted
 * anywhere (pnpm passes it through: `pnpm --filter @asam/vision train -- --model …`), unknown flags answered with
 * the nearest valid one, every value option declares its default (shown by `--help`), numbers and choices checked
 * with a message that names the flag, and every parse error is a {@link UsageError} (one line, exit 2 under runCli).
 */
import { Command, CommanderError, Help, Option } from 'commander';
import { closest } from 'fastest-levenshtein';
import { invocationDir, resolveUserPath } from './paths.ts';
import { CliExit, UsageError } from './errors.ts';

/** How an option's value is read. `path` values are resolved against the directory the user ran the command in. */
export type ValueKind = 'string' | 'int' | 'number' | 'path';

/** One option of a command. */
export interface OptionSpec {
  /** commander flags: `--epochs <n>` (value) or `--resume` (switch). */
  flags: string;
  help: string;
  /** How the value is read (default 'string'); ignored for switches. */
  kind?: ValueKind;
  /** Allowed values (checked, listed in --help, nearest one suggested). */
  choices?: readonly string[];
  /** Messages for values that are not choices but look like a known mistake, e.g. `{ adam: 'use sgd …' }`. */
  choiceHints?: Readonly<Record<string, string>>;
  /** Smallest allowed value of an 'int' / 'number' option. */
  min?: number;
  /**
   * The default. A value option must give `default` (a value applied by the parser) or `defaultText` (what the
   * program does when the flag is absent, e.g. "0.05 for sam, 0.5 for asam"; the parsed value is then undefined).
   * Switches are off by default.
   */
  default?: string | number;
  defaultText?: string;
}

/** Options of {@link createCommand}. */
export interface CreateCommandOptions {
  /** Program name shown in usage, e.g. `pnpm --filter @asam/vision train --`. */
  name: string;
  /** One paragraph under the usage line. */
  description: string;
  /** Text printed after the option list (examples, notes). */
  epilog?: string;
  /** Environment used to find the user's directory ($INIT_CWD); default process.env. */
  env?: Record<string, string | undefined>;
  /** Working directory of the process; default process.cwd(). */
  cwd?: string;
}

/** The directory relative paths of a command are resolved against (see createCommand). */
const BASES = new WeakMap<Command, string>();

/** The candidate closest to `word` by edit distance (ties: the first in `candidates`). */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  return candidates.length > 0 ? closest(word, candidates) : undefined;
}

/** Long flags of a command, `--help` included. */
export function longFlags(cmd: Command): string[] {
  return [...cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined), '--help'];
}

class DefaultsHelp extends Help {
  override optionDescription(option: Option): string {
    const extra: string[] = [];
    if (option.argChoices) extra.push(`one of ${option.argChoices.join(' | ')}`);
    const d = option.defaultValueDescription ?? (option.defaultValue !== undefined ? String(option.defaultValue) : undefined);
    if (d !== undefined) extra.push(`default: ${d}`);
    else if (option.isBoolean() && !option.negate && option.long !== '--help') extra.push('default: off');
    return extra.length > 0 ? `${option.description} (${extra.join('; ')})` : option.description;
  }
}

/**
 * A commander Command set up for the convention: parse errors become {@link UsageError}s (see
 * {@link parseCommand}), `--help` shows every default, no positional arguments. Add options with
 * {@link addOption} / {@link addSharedOptions}.
 */
export function createCommand(o: CreateCommandOptions): Command {
  const base = invocationDir(o.env ?? process.env, o.cwd ?? process.cwd());
  const cmd = new Command(o.name)
    .description(o.description)
    .helpOption('-h, --help', 'print this help and exit')
    .allowExcessArguments(false)
    .allowUnknownOption(false)
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  cmd.createHelp = () => Object.assign(new DefaultsHelp(), cmd.configureHelp());
  cmd.configureHelp({ helpWidth: 120 });
  if (o.epilog) cmd.addHelpText('after', `\n${o.epilog}`);
  BASES.set(cmd, base);
  return cmd;
}

function baseDir(cmd: Command): string {
  const base = BASES.get(cmd);
  if (base === undefined) throw new Error('addOption: the command was not made by createCommand');
  return base;
}

function parseValue(flag: string, spec: OptionSpec, raw: string, base: string): string | number {
  if (raw.startsWith('--')) throw new UsageError(`${flag} needs a value (got the flag ${raw})`);
  if (spec.choices && !spec.choices.includes(raw)) {
    const hint = spec.choiceHints?.[raw];
    if (hint !== undefined) throw new UsageError(`${flag} ${JSON.stringify(raw)} is not valid; expected one of ${spec.choices.join(', ')}: ${hint}`);
    const near = nearest(raw, spec.choices);
    throw new UsageError(`${flag} ${JSON.stringify(raw)} is not valid; expected one of ${spec.choices.join(', ')}${near ? ` (did you mean ${near}?)` : ''}`);
  }
  const kind = spec.kind ?? 'string';
  if (kind === 'path') {
    if (raw === '') throw new UsageError(`${flag} needs a non-empty path`);
    return resolveUserPath(raw, base);
  }
  if (kind === 'int' || kind === 'number') {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`${flag} ${JSON.stringify(raw)} is not a number`);
    if (kind === 'int' && !Number.isInteger(v)) throw new UsageError(`${flag} ${raw} must be an integer`);
    if (spec.min !== undefined && v < spec.min) throw new UsageError(`${flag} ${raw} must be >= ${spec.min}`);
    return v;
  }
  return raw;
}

/** Adds one option; a value option without `default` or `defaultText` is a programming error (thrown at once). */
export function addOption(cmd: Command, spec: OptionSpec): Command {
  const opt = new Option(spec.flags, spec.help);
  const flag = opt.long ?? spec.flags;
  if (opt.negate && !opt.required && !opt.optional) {
    // a negated switch (`--no-download`: the attribute `download` is true unless it is given); defaultText says what happens without it
    if (spec.default !== undefined) throw new Error(`${flag}: a negated switch takes no default value (its attribute is true unless given)`);
    if (spec.defaultText === undefined) throw new Error(`${flag}: a negated switch must say what happens without it (defaultText)`);
    opt.default(undefined, spec.defaultText);
  } else if (opt.isBoolean()) {
    if (spec.default !== undefined || spec.defaultText !== undefined) throw new Error(`${flag}: a switch is off by default; give no default`);
  } else {
    if (spec.default === undefined && spec.defaultText === undefined) throw new Error(`${flag}: a value option must state its default (default or defaultText)`);
    if (spec.choices) opt.choices(spec.choices);
    if (spec.default !== undefined) opt.default(spec.default, spec.defaultText);
    else opt.default(undefined, spec.defaultText);
    const base = baseDir(cmd);
    opt.argParser((raw: string) => parseValue(flag, spec, raw, base));
  }
  cmd.addOption(opt);
  return cmd;
}

/** The methods every training CLI accepts: plain base optimizer, SAM, ASAM. */
export const METHODS = ['sgd', 'sam', 'asam'] as const;
export type MethodName = (typeof METHODS)[number];
/** The backends every CLI accepts (@asam/engine's names plus auto). */
export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

/** Which shared options {@link addSharedOptions} adds, and the wording that differs per program. */
export interface SharedOptionsSpec {
  /** `--out <dir>`: the run folder (required by the program, checked with {@link requireOption}). */
  out?: { help?: string };
  /**
   * `--optimizer <method>`: the base optimizer alone, sam or asam. The base is named by what it is: `sgd` (default
   * choices), or e.g. `adam` where the program's base optimizer is Adam (`choices: ['adam', 'sam', 'asam']`).
   */
  optimizer?: { default: string; choices?: readonly string[]; help?: string; choiceHints?: Readonly<Record<string, string>> };
  /** `--data-dir <dir>`: dataset root. */
  dataDir?: boolean;
  /** `--resume` and `--overwrite`: what to do with a run folder that already holds a run. */
  resume?: boolean;
  /** `--backend <name>`: default $ASAM_BACKEND, else auto (read with {@link backendFrom}). */
  backend?: boolean;
  /**
   * `--no-download` (a dataset that is not in the data folder is not fetched) and `--mirror <url>` (fetch from this
   * base URL instead of the publishers' hosts; read with {@link mirrorFrom}).
   */
  download?: boolean;
}

/** Adds the options whose names, values and meaning are the same in every CLI of the project. */
export function addSharedOptions(cmd: Command, s: SharedOptionsSpec): Command {
  if (s.out) {
    addOption(cmd, { flags: '--out <dir>', kind: 'path', help: s.out.help ?? 'run folder (relative paths: from the directory you ran the command in)', defaultText: 'none, required' });
  }
  if (s.optimizer) {
    addOption(cmd, { flags: '--optimizer <method>', choices: s.optimizer.choices ?? METHODS, default: s.optimizer.default, help: s.optimizer.help ?? 'sgd (the base optimizer alone), sam or asam',
      ...(s.optimizer.choiceHints ? { choiceHints: s.optimizer.choiceHints } : {}) });
  }
  if (s.dataDir) {
    addOption(cmd, { flags: '--data-dir <dir>', kind: 'path', help: 'dataset root', defaultText: '$ASAM_DATA_DIR, else ~/.cache/asam/data' });
  }
  if (s.resume) {
    addOption(cmd, { flags: '--resume', help: 'continue the run in --out from its checkpoint (a finished run is left as it is)' });
    addOption(cmd, { flags: '--overwrite', help: 'delete the run already in --out and start again (without it, an existing run is refused)' });
  }
  if (s.download) {
    addOption(cmd, { flags: '--no-download', help: 'never download: a dataset missing from the data folder is reported, with the command that fetches it', defaultText: 'download what is missing into the data folder' });
    addOption(cmd, { flags: '--mirror <url>', help: 'base URL to download datasets from instead of the publishers\' hosts (a proxy or a local copy laid out like the data folder)', defaultText: '$ASAM_DATA_MIRROR, else the publishers\' hosts' });
  }
  if (s.backend) {
    addOption(cmd, { flags: '--backend <name>', choices: BACKENDS, help: 'tfjs backend; auto takes the first that loads of tensorflow-gpu, tensorflow, webgpu, wasm, cpu', defaultText: '$ASAM_BACKEND, else auto' });
    addOption(cmd, { flags: '--native-kernels <on|off>', choices: NATIVE_SWITCH, help: 'on wasm: the native oneDNN kernels (built by scripts/setup.sh) where they load; off: WebAssembly-SIMD kernels only', defaultText: '$ASAM_NATIVE_KERNELS, else on' });
  }
  return cmd;
}

/** Values of `--native-kernels` / $ASAM_NATIVE_KERNELS. */
export const NATIVE_SWITCH = ['on', 'off'] as const;

/**
 * Whether to use the native kernel tier: `--native-kernels`, else $ASAM_NATIVE_KERNELS (checked), else on. Programs
 * that start child processes put the answer into the children's $ASAM_NATIVE_KERNELS.
 */
export function nativeKernelsFrom(flag: string | undefined, env: Record<string, string | undefined>): boolean {
  const v = flag ?? env.ASAM_NATIVE_KERNELS;
  if (v === undefined || v === '') return true;
  if (!(NATIVE_SWITCH as readonly string[]).includes(v)) {
    throw new UsageError(`ASAM_NATIVE_KERNELS=${JSON.stringify(v)} is not a switch; expected on or off`);
  }
  return v === 'on';
}

/** The backend to use: `--backend`, else $ASAM_BACKEND (checked), else auto. */
export function backendFrom(flag: string | undefined, env: Record<string, string | undefined>): BackendChoice {
  if (flag !== undefined) return flag as BackendChoice;
  const e = env.ASAM_BACKEND;
  if (e === undefined || e === '') return 'auto';
  if (!(BACKENDS as readonly string[]).includes(e)) {
    throw new UsageError(`ASAM_BACKEND=${JSON.stringify(e)} is not a backend; expected one of ${BACKENDS.join(', ')}${nearest(e, BACKENDS) ? ` (did you mean ${nearest(e, BACKENDS)}?)` : ''}`);
  }
  return e as BackendChoice;
}

/** The download mirror: `--mirror`, else $ASAM_DATA_MIRROR (checked to be an http(s) URL), else null (the publishers' hosts). */
export function mirrorFrom(flag: string | undefined, env: Record<string, string | undefined>): string | null {
  const [v, where] = flag !== undefined ? [flag, '--mirror'] : [env.ASAM_DATA_MIRROR, 'ASAM_DATA_MIRROR'];
  if (v === undefined || v === '') return null;
  let u: URL | null = null;
  try {
    u = new URL(v);
  } catch {
    u = null;
  }
  if (u === null || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    throw new UsageError(`${where} ${JSON.stringify(v)} is not an http(s) URL; give the base URL of a folder laid out like the data folder, e.g. http://host:8000/asam-data`);
  }
  return v;
}

/** The value of a required option, or a UsageError naming it. */
export function requireOption<T>(value: T | undefined, flag: string, hint = ''): T {
  if (value === undefined) throw new UsageError(`${flag} is required${hint ? ` (${hint})` : ''}`);
  return value;
}

/** Flags the user gave on the command line (not defaults), as `--name`. */
export function givenFlags(cmd: Command): string[] {
  return cmd.options.filter((o) => cmd.getOptionValueSource(o.attributeName()) === 'cli').map((o) => o.long ?? o.flags);
}

/**
 * Parses `argv` (without node and the script): removes bare `--` separators (no CLI of the project takes
 * positional arguments), runs commander, and turns every commander error into a one-line {@link UsageError}.
 * After `--help` it throws {@link CliExit}(0) (help already printed).
 */
export function parseCommand<T extends Record<string, unknown> = Record<string, unknown>>(cmd: Command, argv: readonly string[]): T {
  const args = argv.filter((a) => a !== '--');
  try {
    cmd.parse(args, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') throw new CliExit(e.exitCode);
    throw new UsageError(commanderMessage(cmd, e, args));
  }
  return cmd.opts<T>();
}

function commanderMessage(cmd: Command, e: CommanderError, args: readonly string[]): string {
  const see = 'see --help';
  if (e.code === 'commander.unknownOption') {
    const m = /unknown option '([^']*)'/.exec(e.message);
    const raw = m?.[1] ?? '';
    const flag = raw.split('=')[0]!;
    if (!flag.startsWith('--')) return `unknown flag ${JSON.stringify(flag)}; flags start with -- (${see})`;
    if (longFlags(cmd).includes(flag)) return `${flag} is a switch and takes no value (got ${JSON.stringify(raw)})`;
    const near = nearest(flag, longFlags(cmd));
    return `unknown flag ${JSON.stringify(flag)}; did you mean ${near}? (${see})`;
  }
  if (e.code === 'commander.optionMissingArgument') {
    const m = /option '([^']*)'/.exec(e.message);
    const flag = (m?.[1] ?? '').split(/[ ,]/).find((s) => s.startsWith('--')) ?? m?.[1] ?? 'an option';
    return `${flag} needs a value`;
  }
  if (e.code === 'commander.excessArguments') {
    const operands = cmd.parseOptions([...args]).operands;
    return `unexpected argument ${JSON.stringify(operands[0] ?? '')}: every setting is a --flag (${see})`;
  }
  return `${e.message.replace(/^error: /, '')} (${see})`;
}

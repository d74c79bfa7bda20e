/** Command-line parsing shared by the benchmark CLIs (strict: unknown flags are refused). */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROFILES, type ProfileName } from './experiment.ts';

/** The benchmarks package root (folder of package.json). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface FlagSpec {
  name: string;
  value: boolean;
  help: string;
}

/** Parses `--flag value` / `--flag=value` / boolean `--flag`; throws naming the bad flag and listing valid ones. */
export function parseFlags(argv: string[], specs: FlagSpec[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"; flags start with --, see --help`);
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new Error(`unknown flag --${name}; valid: ${specs.map((s) => `--${s.name}`).join(', ')}`);
    if (!spec.value) {
      out[name] = true;
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new Error(`--${name} needs a value (${spec.help})`);
    out[name] = v;
  }
  return out;
}

/** Help text listing the flags. */
export function helpText(usage: string, specs: FlagSpec[], extra = ''): string {
  const w = Math.max(...specs.map((s) => s.name.length + (s.value ? 6 : 0))) + 4;
  return [usage, '', ...specs.map((s) => `  --${(s.name + (s.value ? ' <v>' : '')).padEnd(w)}${s.help}`), extra].join('\n');
}

/** Validates a profile name from a flag or env. */
export function checkProfile(v: string, where: string): ProfileName {
  if (!PROFILES.includes(v as ProfileName)) throw new Error(`${where} = "${v}" is not a profile; valid: ${PROFILES.join(', ')}`);
  return v as ProfileName;
}

/** Default folders: runs under benchmarks/runs/<profile>, reports under benchmarks/results/<profile>. */
export function defaultDirs(profile: ProfileName, env: Record<string, string | undefined>): { runsDir: string; resultsDir: string } {
  const runsRoot = env.ASAM_RESULTS_DIR ? path.resolve(env.ASAM_RESULTS_DIR) : path.join(PACKAGE_ROOT, 'runs');
  return { runsDir: path.join(runsRoot, profile), resultsDir: path.join(PACKAGE_ROOT, 'results', profile) };
}

/**
 * One way to validate configs at the boundary: a zod schema per config (vision, translation, benchmark experiments),
 * `parseConfig` to apply it, and one error class. A rejected config gives ONE line naming the field path, the value
 * given, the valid range or choices, and the fix where there is one:
 *
 *   config.optimizer.rho = -0.1 is invalid: expected a finite number >= 0
 *   config.epoch = 3 is invalid: expected no such field; valid fields: model, dataset, …; did you mean "epochs"?
 *
 * The valid range is the schema's own error text: the field builders below (`numberField`, `oneOf`, …) set it once
 * per field, so every check of the field (type, bounds, integer) reports the whole range, not only the bound that
 * failed. The same schemas give the JSON Schema of the docs (`z.toJSONSchema(schema, { io: 'input' })`).
 */
import { z } from 'zod';
import { closest, distance } from 'fastest-levenshtein';

/** Builds the error for a rejected field (a package's own subclass of {@link ConfigError}). */
export type ConfigErrorFactory = (field: string, value: unknown, expected: string) => Error;

/** JSON text of a value for a message (`undefined` and unserializable values as text). */
export function showValue(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * An invalid config value: `field` is the dotted path (`optimizer.rho`, `grid.seed[1]`), `value` what was given and
 * `expected` the valid range or choices and the fix. The message is `<where>.<field> = <value> is invalid: expected
 * <expected>`; CLIs print it on one line and exit 2 (its name is in @asam/cli's USER_ERROR_NAMES). Packages keep
 * their own subclasses (vision `TrainConfigError`, nmt `TranslationConfigError`) so callers can tell them apart.
 */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
    where = 'config',
  ) {
    super(`${field === '' ? where : `${where}.${field}`} = ${showValue(value)} is invalid: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

type Path = readonly PropertyKey[];

/** `optimizer.rho`, `grid.seed[1]`; the root is ''. */
export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

function valueAt(input: unknown, path: Path): unknown {
  let v = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p as string];
  }
  return v;
}

/**
 * The candidate closest to `name` by edit distance, ignoring case, when it is a plausible typo of it (distance <= 1/3 of
 * the candidate's length, at least 1); ties go to the first candidate.
 */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const lowered = candidates.map((c) => c.toLowerCase());
  const key = name.toLowerCase();
  const i = lowered.indexOf(closest(key, lowered));
  const best = candidates[i]!;
  return distance(key, lowered[i]!) <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** The schema that validates the value at `path` under `schema` (through optional, nullable, default, pipe input). */
function schemaAt(schema: z.core.$ZodType, path: Path): z.core.$ZodType | undefined {
  let s: z.core.$ZodType | undefined = schema;
  for (let i = 0; ; i++) {
    const def = s?._zod.def as unknown as Record<string, unknown> | undefined;
    if (!def) return undefined;
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type as string)) {
      s = def.innerType as z.core.$ZodType;
      i--;
      continue;
    }
    if (def.type === 'pipe') {
      s = def.in as z.core.$ZodType;
      i--;
      continue;
    }
    if (i === path.length) return s;
    if (def.type === 'object') s = (def.shape as Record<string, z.core.$ZodType>)[path[i] as string];
    else if (def.type === 'array') s = def.element as z.core.$ZodType;
    else if (def.type === 'record') s = def.valueType as z.core.$ZodType;
    else return undefined;
  }
}

/** Message of an issue whose schema set no error text (a parse-level error map has lower precedence than the schema's). */
const NO_TEXT = '\u0000no error text';

/** Default wording of an issue whose schema set no error text. */
function fallbackExpected(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': return `a value of type ${issue.expected}`;
    case 'invalid_value': return `one of ${issue.values.map(showValue).join(', ')}`;
    case 'too_small': return `${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big': return `${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    default: return issue.message;
  }
}

/** One issue as field path, value and expected text. */
function describeIssue(issue: z.core.$ZodIssue, schema: z.core.$ZodType, input: unknown): { field: string; value: unknown; expected: string } {
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const shape = schemaAt(schema, issue.path);
    const fields = shape && (shape._zod.def as { type: string }).type === 'object' ? Object.keys((shape._zod.def as unknown as { shape: object }).shape) : [];
    const guess = nearest(key, fields);
    return {
      field: formatPath([...issue.path, key]),
      value: valueAt(input, [...issue.path, key]),
      expected: `no such field; valid fields: ${fields.join(', ')}${guess ? `; did you mean "${guess}"?` : ''}`,
    };
  }
  return {
    field: formatPath(issue.path),
    value: 'input' in issue ? issue.input : valueAt(input, issue.path),
    expected: issue.message === NO_TEXT ? fallbackExpected(issue) : issue.message,
  };
}

/** The issue to report: an unknown field first (the shallowest), else the first in schema order. */
function firstIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  const unknown = issues.filter((i) => i.code === 'unrecognized_keys').sort((a, b) => a.path.length - b.path.length);
  return unknown[0] ?? issues[0]!;
}

/**
 * Validates `input` with `schema` and returns the parsed value (defaults applied by the schema's `.default()` and
 * transforms). On failure throws ONE error for the first problem: `where` names the config in the message
 * (`'config'` gives `config.lr = 0 is invalid: …`), or is a factory building a package's own error class.
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, where: string | ConfigErrorFactory = 'config'): z.output<S> {
  const r = schema.safeParse(input, { reportInput: true, error: () => NO_TEXT });
  if (r.success) return r.data;
  const { field, value, expected } = describeIssue(firstIssue(r.error.issues), schema, input);
  throw typeof where === 'function' ? where(field, value, expected) : new ConfigError(field, value, expected, where);
}

/**
 * Adds a cross-field issue in a `superRefine`: `path` names the field, `input` its value, `expected` the valid
 * values given the other fields and the fix.
 */
export function addConfigIssue(ctx: z.RefinementCtx, path: PropertyKey[], input: unknown, expected: string): void {
  ctx.addIssue({ code: 'custom', path, input, message: expected });
}

// ---- field builders: each sets the field's whole valid range as its error text

/** Numeric range of a field. */
export interface NumberRange {
  int?: boolean;
  min?: number;
  max?: number;
  /** Exclusive bounds. */
  gt?: number;
  lt?: number;
  /** Error text instead of the generated one (`an integer >= 1 <= 64`). */
  expected?: string;
}

/** `a finite number > 0`, `an integer >= 1 <= 64`. */
export function rangeText(r: NumberRange): string {
  return [
    r.int ? 'an integer' : 'a finite number',
    r.min !== undefined ? `>= ${r.min}` : r.gt !== undefined ? `> ${r.gt}` : '',
    r.max !== undefined ? `<= ${r.max}` : r.lt !== undefined ? `< ${r.lt}` : '',
  ].filter(Boolean).join(' ');
}

/** A finite number (or integer) in a range; NaN and ±Infinity are refused. */
export function numberField(r: NumberRange = {}): z.ZodNumber {
  let s = z.number({ error: r.expected ?? rangeText(r) });
  if (r.int) s = s.int();
  if (r.min !== undefined) s = s.min(r.min);
  if (r.gt !== undefined) s = s.gt(r.gt);
  if (r.max !== undefined) s = s.max(r.max);
  if (r.lt !== undefined) s = s.lt(r.lt);
  return s;
}

/** A number in a range, or null (`orNull` is appended to the range text; default ` (or null)`). */
export function nullableNumberField(r: NumberRange = {}, orNull = ' (or null)'): z.ZodNullable<z.ZodNumber> {
  return numberField({ ...r, expected: r.expected ?? `${rangeText(r)}${orNull}` }).nullable();
}

/** One of the given literals; the error lists them (`one of "none", "sam", "asam"`) unless `expected` is given. */
export function oneOf<const T extends readonly [z.core.util.Literal, ...z.core.util.Literal[]]>(values: T, expected?: string): z.ZodLiteral<T[number]> {
  return z.literal(values, { error: expected ?? `one of ${values.map(showValue).join(', ')}` });
}

/** true or false. */
export function booleanField(expected = 'true or false'): z.ZodBoolean {
  return z.boolean({ error: expected });
}

/** A non-empty string; `expected` says what it names (and where it comes from). */
export function nonEmptyString(expected: string): z.ZodString {
  return z.string({ error: expected }).min(1);
}

/** JSON Schema (draft 2020-12) of what a config file may hold: the schema's input side. */
export function configJsonSchema(schema: z.ZodType, meta: { title: string; description?: string }): Record<string, unknown> {
  return { ...(z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>), title: meta.title, ...(meta.description ? { description: meta.description } : {}) };
}

/**
 * One strict registry for every named thing a config refers to (vision models, Transformer presets, benchmark
 * experiments and task modules), in the manner of timm's and fairseq's: ids are stable lower_snake names, a duplicate
 * id is refused, an unknown id is answered with the valid ones. Nothing registers itself on import: the owner of a
 * registry fills it explicitly.
 */
import { nearest } from './schema.ts';

const ID_RE = /^[a-z][a-z0-9_]*$/;

/**
 * An id that is not registered: a user error (its name is in @asam/cli's USER_ERROR_NAMES: one line, exit 2).
 * The message lists the valid ids and the nearest one when the id looks like a typo of it.
 */
export class UnknownIdError extends Error {
  constructor(readonly kind: string, readonly id: string, readonly valid: readonly string[], plural = `${kind}s`) {
    const guess = nearest(id, valid);
    super(`unknown ${kind} '${id}'; valid ${plural}: ${valid.join(', ')}${guess ? `; did you mean '${guess}'?` : ''}`);
    this.name = 'UnknownIdError';
  }
}

/** A strict registry of `T` by id. */
export interface Registry<T> {
  /** What the entries are, e.g. 'model' (used in messages). */
  readonly kind: string;
  /** Adds `value` under `id`; refuses ids that are not lower_snake or already taken. */
  register(id: string, value: T): void;
  /** The entry for `id`; throws {@link UnknownIdError} listing the valid ids. */
  get(id: string): T;
  has(id: string): boolean;
  /** Entries in registration order. */
  list(): T[];
  /** Ids in registration order. */
  ids(): string[];
}

/**
 * A new, empty registry of `kind` entries. `plural` is the plural of `kind` for messages (default `kind + 's'`).
 *
 *   const models = createRegistry<ModelSpec>('model');
 *   models.register('resnet20', spec);
 *   models.get('resnet21');  // UnknownIdError: unknown model 'resnet21'; valid models: resnet20; did you mean 'resnet20'?
 */
export function createRegistry<T>(kind: string, opts: { plural?: string } = {}): Registry<T> {
  const byId = new Map<string, T>();
  const plural = opts.plural ?? `${kind}s`;
  return {
    kind,
    register(id, value) {
      if (typeof id !== 'string' || !ID_RE.test(id)) throw new Error(`${kind} id '${String(id)}' is not lower_snake ([a-z][a-z0-9_]*); rename it`);
      if (byId.has(id)) throw new Error(`${kind} '${id}' is already registered; ${kind} ids must be unique`);
      byId.set(id, value);
    },
    get(id) {
      if (!byId.has(id)) throw new UnknownIdError(kind, id, [...byId.keys()], plural);
      return byId.get(id) as T;
    },
    has: (id) => byId.has(id),
    list: () => [...byId.values()],
    ids: () => [...byId.keys()],
  };
}

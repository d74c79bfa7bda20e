import { describe, expect, it } from 'vitest';
import { createRegistry, UnknownIdError } from './registry.ts';

describe('createRegistry', () => {
  it('register, get, has, list and ids in registration order', () => {
    const r = createRegistry<{ n: number }>('model');
    r.register('resnet20', { n: 20 });
    r.register('wrn28_10', { n: 28 });
    expect(r.kind).toBe('model');
    expect(r.get('wrn28_10')).toEqual({ n: 28 });
    expect(r.has('resnet20')).toBe(true);
    expect(r.has('resnet21')).toBe(false);
    expect(r.list()).toEqual([{ n: 20 }, { n: 28 }]);
    expect(r.ids()).toEqual(['resnet20', 'wrn28_10']);
    r.list().pop();
    expect(r.ids()).toHaveLength(2); // list() is a copy
  });

  it('refuses duplicates and ids that are not lower_snake', () => {
    const r = createRegistry<number>('experiment');
    r.register('a_1', 1);
    expect(() => r.register('a_1', 2)).toThrow("experiment 'a_1' is already registered; experiment ids must be unique");
    expect(r.get('a_1')).toBe(1);
    for (const bad of ['A1', 'resnet-20', '1abc', '', 'a b']) expect(() => r.register(bad, 3), bad).toThrow(/is not lower_snake/);
  });

  it('an unknown id is a user error listing the valid ids and the nearest', () => {
    const r = createRegistry<number>('Transformer preset');
    r.register('transformer_small', 1);
    r.register('transformer_tiny', 2);
    let e: unknown;
    try {
      r.get('transformer_smal');
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(UnknownIdError);
    expect((e as UnknownIdError).name).toBe('UnknownIdError');
    expect((e as UnknownIdError).valid).toEqual(['transformer_small', 'transformer_tiny']);
    expect((e as Error).message).toBe("unknown Transformer preset 'transformer_smal'; valid Transformer presets: transformer_small, transformer_tiny; did you mean 'transformer_small'?");
    expect(() => r.get('gpt')).toThrow(/^unknown Transformer preset 'gpt'; valid Transformer presets: transformer_small, transformer_tiny$/);
    expect(() => createRegistry<number>('task', { plural: 'tasks (see TASKS)' }).get('x')).toThrow("unknown task 'x'; valid tasks (see TASKS): ");
  });

  it('registries are independent', () => {
    const a = createRegistry<number>('model');
    const b = createRegistry<number>('model');
    a.register('x', 1);
    expect(b.has('x')).toBe(false);
  });
});

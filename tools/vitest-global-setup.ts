/**
 * Runs once in vitest's main process. vitest 5 formats failed-test errors with `Map.groupBy`,
 * which Node 20 lacks (it arrived in Node 21); without this, a failing test crashes the reporter
 * instead of printing its error.
 */
type GroupBy = <K, T>(items: Iterable<T>, key: (item: T, index: number) => K) => Map<K, T[]>;
const M = Map as unknown as { groupBy?: GroupBy };
if (typeof M.groupBy !== 'function') {
  M.groupBy = <K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, T[]> => {
    const out = new Map<K, T[]>();
    let i = 0;
    for (const item of items) {
      const k = key(item, i++);
      const list = out.get(k);
      if (list) list.push(item);
      else out.set(k, [item]);
    }
    return out;
  };
}
export default function setup(): void {}

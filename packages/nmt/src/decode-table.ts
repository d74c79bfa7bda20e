/**
 * A hand-written {@link IncrementalDecoder}: the next-token distribution is read
 * from a table keyed on the prefix generated so far. It exists to test search
 * algorithms against exactly known probabilities, and it checks the ownership
 * contract of decode-types.ts as it goes (a state used after it was consumed
 * throws; `liveStates` counts states not yet consumed).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { IncrementalDecoder } from './decode-types.ts';

/**
 * Next-token probabilities for one source sentence: either a record keyed on the
 * prefix (token names joined by single spaces, `''` for the empty prefix) whose
 * values map token names to probabilities, or a function of the prefix.
 * Probabilities of a row must sum to 1 (±1e-6); unlisted tokens have probability 0.
 */
export type ProbTable = Record<string, Record<string, number>> | ((prefix: string[]) => Record<string, number>);

/** One row of a {@link TableState}: its table, the tokens generated so far, whether a step was taken. */
export interface TableRow {
  table: number;
  prefix: number[];
  started: boolean;
}

/** State of a {@link TableDecoder}: per row the table index and the prefix; one tensor to exercise disposal. */
export interface TableState {
  readonly serial: number;
  readonly rows: TableRow[];
  /** Int32 [rows] tensor of table indices: a real tensor, so leaks and double disposal show up. */
  readonly handle: tf.Tensor1D;
}

/** Options of {@link TableDecoder}. */
export interface TableDecoderOptions {
  /** Token names; the index is the id. Must contain `<pad>`, `<s>` and `</s>` unless the ids are given. */
  vocab: string[];
  /** One table per source sentence kind: source sentence `[t, …]` uses `tables[t]`. */
  tables: ProbTable[];
  pad?: number;
  bos?: number;
  eos?: number;
}

/**
 * An {@link IncrementalDecoder} whose distribution p(· | prefix, x) is a
 * hand-written table. Source sentence `ids[0] = t` selects `tables[t]`.
 * `stepRows` records the row count of every `step` call.
 */
export class TableDecoder implements IncrementalDecoder<TableState> {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  /** Row count of each `step` call, in order. */
  readonly stepRows: number[] = [];
  private readonly vocab: string[];
  private readonly ids: Map<string, number>;
  private readonly tables: ProbTable[];
  private readonly live = new Set<number>();
  private serial = 0;

  constructor(opts: TableDecoderOptions) {
    this.vocab = opts.vocab;
    this.vocabSize = opts.vocab.length;
    this.ids = new Map(opts.vocab.map((w, i) => [w, i]));
    const find = (given: number | undefined, name: string): number => {
      const id = given ?? this.ids.get(name);
      if (id === undefined) throw new Error(`TableDecoder: vocab has no '${name}' and no id was given for it; add it to opts.vocab or pass its id.`);
      return id;
    };
    this.pad = find(opts.pad, '<pad>');
    this.bos = find(opts.bos, '<s>');
    this.eos = find(opts.eos, '</s>');
    this.tables = opts.tables;
  }

  /** Number of states handed out and not yet consumed (0 after a search that honours the contract). */
  get liveStates(): number {
    return this.live.size;
  }

  private make(rows: TableRow[]): TableState {
    const serial = ++this.serial;
    this.live.add(serial);
    return { serial, rows, handle: tf.tensor1d(rows.map((r) => r.table), 'int32') };
  }

  private consume(state: TableState, op: string): void {
    if (!this.live.has(state.serial)) throw new Error(`TableDecoder.${op}: state #${state.serial} was already consumed (use after step/select/dispose).`);
    this.live.delete(state.serial);
    state.handle.dispose();
  }

  /** One row per source sentence; `ids[i][0]` is the table index. */
  start(src: { ids: Int32Array[] }): TableState {
    return this.make(
      src.ids.map((ids, i) => {
        const t = ids[0];
        if (t === undefined || t < 0 || t >= this.tables.length) {
          throw new Error(`TableDecoder.start: source ${i} starts with ${String(t)}; it must be a table index in [0, ${this.tables.length - 1}].`);
        }
        return { table: t, prefix: [], started: false };
      }),
    );
  }

  /** The probabilities of the table row for `prefix` of table `t`, validated. */
  private dist(t: number, prefix: number[]): Float32Array {
    const names = prefix.map((id) => this.vocab[id]!);
    const table = this.tables[t]!;
    const key = names.join(' ');
    const row = typeof table === 'function' ? table(names) : table[key];
    if (row === undefined) throw new Error(`TableDecoder: table ${t} has no row for prefix '${key}'; add one.`);
    const out = new Float32Array(this.vocabSize).fill(-Infinity);
    let sum = 0;
    for (const [w, p] of Object.entries(row)) {
      const id = this.ids.get(w);
      if (id === undefined) throw new Error(`TableDecoder: table ${t}, prefix '${key}': unknown token '${w}'; vocab is ${this.vocab.join(', ')}.`);
      if (!(p >= 0 && p <= 1)) throw new Error(`TableDecoder: table ${t}, prefix '${key}', token '${w}': probability ${p} is outside [0, 1].`);
      out[id] = Math.log(p);
      sum += p;
    }
    if (Math.abs(sum - 1) > 1e-6) throw new Error(`TableDecoder: table ${t}, prefix '${key}': probabilities sum to ${sum}; they must sum to 1.`);
    return out;
  }

  step(state: TableState, lastTokens: Int32Array): { logProbs: tf.Tensor2D; state: TableState } {
    this.consume(state, 'step');
    const rows = state.rows;
    if (lastTokens.length !== rows.length) throw new Error(`TableDecoder.step: lastTokens has ${lastTokens.length} entries for ${rows.length} rows.`);
    this.stepRows.push(rows.length);
    const V = this.vocabSize;
    const lp = new Float32Array(rows.length * V);
    const next = rows.map((r, i) => {
      const tok = lastTokens[i]!;
      if (!r.started && tok !== this.bos) throw new Error(`TableDecoder.step: row ${i} gets ${tok} at its first step; the contract says bos (${this.bos}).`);
      if (r.started && (tok === this.bos || tok === this.pad)) throw new Error(`TableDecoder.step: row ${i} was fed ${tok} (bos/pad) as a generated token.`);
      const prefix = r.started ? [...r.prefix, tok] : r.prefix;
      lp.set(this.dist(r.table, prefix), i * V);
      return { table: r.table, prefix, started: true };
    });
    return { logProbs: tf.tensor2d(lp, [rows.length, V]), state: this.make(next) };
  }

  select(state: TableState, indices: Int32Array): TableState {
    this.consume(state, 'select');
    return this.make(
      Array.from(indices, (i) => {
        const r = state.rows[i];
        if (r === undefined) throw new Error(`TableDecoder.select: index ${i} is outside [0, ${state.rows.length - 1}].`);
        return r;
      }),
    );
  }

  dispose(state: TableState): void {
    this.consume(state, 'dispose');
  }

  rows(state: TableState): number {
    return state.rows.length;
  }
}

/**
 * A minimal reader of SentencePiece's `.model` file (protobuf `sentencepiece.ModelProto`,
 * proto2): the piece list (field 1: piece = 1, score = 2, type = 3) and the special ids
 * and model settings of `trainer_spec` (field 2: model_type = 3, vocab_size = 4,
 * unk_id = 40, bos_id = 41, eos_id = 42, pad_id = 43). Everything else is skipped.
 */

/** Piece types of `ModelProto.SentencePiece.Type`. */
export const PIECE_TYPES = { 1: 'normal', 2: 'unknown', 3: 'control', 4: 'user_defined', 5: 'unused', 6: 'byte' } as const;

/** What {@link readSentencePieceModel} extracts from a `.model` file. */
export interface SentencePieceModelInfo {
  pieces: { piece: string; score: number; type: (typeof PIECE_TYPES)[keyof typeof PIECE_TYPES] }[];
  modelType: 'unigram' | 'bpe' | 'word' | 'char';
  unkId: number;
  bosId: number;
  eosId: number;
  /** −1 when the model has no padding piece. */
  padId: number;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly what: string) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error(`${this.what}: truncated varint at byte ${this.pos}; the file is not a SentencePiece model.`);
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error(`${this.what}: varint longer than 10 bytes at byte ${this.pos}; the file is not a SentencePiece model.`);
    }
  }
  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new Error(`${this.what}: field of ${n} bytes runs past the end; the file is truncated or not a SentencePiece model.`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`${this.what}: unsupported protobuf wire type ${wire} at byte ${this.pos}; the file is not a SentencePiece model.`);
  }
}

const int32 = (v: bigint): number => Number(BigInt.asIntN(32, v));

/** Parses a SentencePiece `.model` file's bytes. `what` names the file in errors. */
export function readSentencePieceModel(buf: Uint8Array, what = 'SentencePiece model'): SentencePieceModelInfo {
  const r = new Reader(buf, what);
  const dec = new TextDecoder('utf-8', { fatal: true });
  const info: SentencePieceModelInfo = { pieces: [], modelType: 'unigram', unkId: 0, bosId: 1, eosId: 2, padId: -1 };
  while (!r.done) {
    const key = Number(r.varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 2) {
      const p = new Reader(r.bytes(), what);
      let piece = '';
      let score = 0;
      let type = 1;
      while (!p.done) {
        const k = Number(p.varint());
        if (k >>> 3 === 1 && (k & 7) === 2) piece = dec.decode(p.bytes());
        else if (k >>> 3 === 2 && (k & 7) === 5) {
          score = new DataView(p.buf.buffer, p.buf.byteOffset + p.pos, 4).getFloat32(0, true);
          p.pos += 4;
        } else if (k >>> 3 === 3 && (k & 7) === 0) type = Number(p.varint());
        else p.skip(k & 7);
      }
      const t = PIECE_TYPES[type as keyof typeof PIECE_TYPES];
      if (t === undefined) throw new Error(`${what}: piece ${info.pieces.length} has unknown type ${type}.`);
      info.pieces.push({ piece, score, type: t });
    } else if (field === 2 && wire === 2) {
      const t = new Reader(r.bytes(), what);
      while (!t.done) {
        const k = Number(t.varint());
        const f = k >>> 3;
        if ((k & 7) !== 0) { t.skip(k & 7); continue; }
        const v = t.varint();
        if (f === 3) info.modelType = (['unigram', 'unigram', 'bpe', 'word', 'char'] as const)[Number(v)] ?? 'unigram';
        else if (f === 40) info.unkId = int32(v);
        else if (f === 41) info.bosId = int32(v);
        else if (f === 42) info.eosId = int32(v);
        else if (f === 43) info.padId = int32(v);
      }
    } else {
      r.skip(wire);
    }
  }
  if (info.pieces.length === 0) throw new Error(`${what}: no pieces found; the file is not a SentencePiece model.`);
  return info;
}

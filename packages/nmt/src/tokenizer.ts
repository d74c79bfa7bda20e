/// <reference path="./tokenizer-sentencepiece-js.d.ts" />
/**
 * Joint subword vocabulary for translation (SentencePiece; Kudo & Richardson 2018,
 * "SentencePiece: A simple and language independent subword tokenizer and
 * detokenizer for Neural Text Processing"): trained once per training text by
 * the reference trainer `spm_train` (Debian package `sentencepiece`), cached, and
 * applied in-process with sentencepiece-js (the same C++ encoder compiled to wasm).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import sp from 'sentencepiece-js';
import { readSentencePieceModel, type SentencePieceModelInfo } from './tokenizer-proto.ts';
import { TranslationConfigError } from './train-config.ts';

/** Special ids fixed for every model trained here (spm flags `--pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3`). */
export const SPECIAL_IDS = { pad: 0, unk: 1, bos: 2, eos: 3 } as const;

/** Options of {@link trainSentencePiece}. */
export interface TrainSentencePieceOptions {
  /** Plain-text training files, one sentence per line (for a joint vocabulary: the source and the target side). */
  inputs: string[];
  /** Vocabulary size including the 4 special pieces (IWSLT'14: 10000; Multi30k: 8000 or fewer). */
  vocabSize: number;
  /** `'bpe'` (Sennrich et al. 2016) or `'unigram'` (Kudo 2018). */
  modelType: 'bpe' | 'unigram';
  /** Fraction of characters covered by the vocabulary (spm `--character_coverage`); 1.0 for Latin scripts. Default 1.0. */
  characterCoverage?: number;
  /** Folder holding trained models, one sub-folder per training key. Created if missing. */
  cacheDir: string;
  /** Normalisation rule (spm `--normalization_rule_name`). Default `'nmt_nfkc'` (spm's default). */
  normalization?: 'nmt_nfkc' | 'nfkc' | 'identity' | 'nmt_nfkc_cf' | 'nfkc_cf';
  /** Sentences loaded by the trainer, taken from the start of the inputs in order (no sampling); 0 = all. Default 0. */
  inputSentenceSize?: number;
  /** Trainer threads. Default 1 (the result was checked bit-identical for 1 and 2 threads, but 1 is the safe default). */
  numThreads?: number;
  /** Trainer executable. Default `'spm_train'` (found on PATH). */
  spmTrain?: string;
  /** Receives the trainer's log lines as they come. */
  log?: (line: string) => void;
}

/** A trained (or cached) SentencePiece model. */
export interface TrainedSentencePiece {
  /** `<dir>/model.model` — load it with {@link SubwordTokenizer.load}. */
  modelPath: string;
  /** `<dir>/model.vocab` — pieces and scores, one per line. */
  vocabPath: string;
  /** The folder: `<cacheDir>/spm-<key>`, also holding `meta.json` (options, input hashes, trainer version, time). */
  dir: string;
  /** Hex key: SHA-256 of the trainer version, the options and the contents of every input. */
  key: string;
  /** True when the model came from the cache. */
  cached: boolean;
}

const MODEL_TYPES = ['bpe', 'unigram'] as const;
const NORMALIZATIONS = ['nmt_nfkc', 'nfkc', 'identity', 'nmt_nfkc_cf', 'nfkc_cf'] as const;

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Runs a command, returning exit code and output; ENOENT for the trainer becomes an install hint. */
function run(cmd: string, args: string[], cwd: string | undefined, onLine?: (line: string) => void): Promise<{ code: number; out: string }> {
  return new Promise((resolveP, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let partial = '';
    const onData = (d: Buffer) => {
      const s = d.toString('utf8');
      out += s;
      if (out.length > 200_000) out = out.slice(-100_000);
      if (onLine) {
        partial += s;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) onLine(l);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new MissingToolError(`trainSentencePiece: the SentencePiece trainer '${cmd}' was not found on PATH. Install it with \`apt-get install sentencepiece\` (Debian/Ubuntu), or pass options.spmTrain = the path of spm_train.`));
      } else reject(e);
    });
    child.on('close', (code) => {
      if (onLine && partial) onLine(partial);
      resolveP({ code: code ?? -1, out });
    });
  });
}

/** A program this package runs is not installed (a user error: the message says how to install it). */
export class MissingToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingToolError';
  }
}

/**
 * Trains a SentencePiece model with the reference trainer `spm_train`, once per
 * (inputs' contents, options, trainer version): the result is cached in
 * `<cacheDir>/spm-<key>/` and later calls return it without training.
 *
 * Determinism: inputs are linked into a scratch folder under fixed names and
 * the model prefix is fixed, so the trainer spec stored in the model does not
 * depend on paths; sentences are read in order (`--shuffle_input_sentence=false`),
 * with a fixed seed and thread count. Two trainings of the same inputs give
 * byte-identical `.model` files. The ids of the special pieces are
 * {@link SPECIAL_IDS}. The folder appears atomically (trained in a scratch folder,
 * then renamed).
 */
export async function trainSentencePiece(opts: TrainSentencePieceOptions): Promise<TrainedSentencePiece> {
  const fn = 'trainSentencePiece';
  if (!Array.isArray(opts.inputs) || opts.inputs.length === 0) throw new Error(`${fn}: options.inputs is empty; pass the training text files (one sentence per line).`);
  for (const f of opts.inputs) {
    if (!existsSync(f)) throw new Error(`${fn}: input file '${f}' does not exist; pass plain-text files (decompress .gz first).`);
    if ((await stat(f)).size === 0) throw new Error(`${fn}: input file '${f}' is empty.`);
  }
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 8) throw new Error(`${fn}: options.vocabSize = ${String(opts.vocabSize)} is invalid; it must be an integer ≥ 8 (e.g. 10000 for IWSLT'14, ≤ 8000 for Multi30k).`);
  if (!MODEL_TYPES.includes(opts.modelType)) throw new Error(`${fn}: options.modelType = '${String(opts.modelType)}' is invalid; use one of ${MODEL_TYPES.join(', ')}.`);
  const characterCoverage = opts.characterCoverage ?? 1.0;
  if (!(characterCoverage > 0 && characterCoverage <= 1)) throw new Error(`${fn}: options.characterCoverage = ${String(characterCoverage)} is invalid; it must be in (0, 1] (1.0 for German/English).`);
  const normalization = opts.normalization ?? 'nmt_nfkc';
  if (!NORMALIZATIONS.includes(normalization)) throw new Error(`${fn}: options.normalization = '${String(normalization)}' is invalid; use one of ${NORMALIZATIONS.join(', ')}.`);
  const inputSentenceSize = opts.inputSentenceSize ?? 0;
  if (!Number.isInteger(inputSentenceSize) || inputSentenceSize < 0) throw new Error(`${fn}: options.inputSentenceSize = ${String(inputSentenceSize)} is invalid; it must be an integer ≥ 0 (0 = all sentences).`);
  const numThreads = opts.numThreads ?? 1;
  if (!Number.isInteger(numThreads) || numThreads < 1) throw new Error(`${fn}: options.numThreads = ${String(numThreads)} is invalid; it must be an integer ≥ 1.`);
  const spmTrain = opts.spmTrain ?? 'spm_train';

  const version = await run(spmTrain, ['--version'], undefined);
  const trainerVersion = version.out.trim().split('\n')[0] ?? 'unknown';
  const inputHashes = await Promise.all(opts.inputs.map(fileSha256));
  const args = [
    `--model_prefix=model`,
    `--vocab_size=${opts.vocabSize}`,
    `--model_type=${opts.modelType}`,
    `--character_coverage=${characterCoverage}`,
    `--normalization_rule_name=${normalization}`,
    `--pad_id=${SPECIAL_IDS.pad}`,
    `--unk_id=${SPECIAL_IDS.unk}`,
    `--bos_id=${SPECIAL_IDS.bos}`,
    `--eos_id=${SPECIAL_IDS.eos}`,
    `--input_sentence_size=${inputSentenceSize}`,
    `--shuffle_input_sentence=false`,
    `--num_threads=${numThreads}`,
    `--random_seed=1`,
  ];
  const key = createHash('sha256').update(JSON.stringify({ trainerVersion, args, inputHashes })).digest('hex').slice(0, 24);
  const dir = resolvePath(opts.cacheDir, `spm-${key}`);
  const modelPath = join(dir, 'model.model');
  const vocabPath = join(dir, 'model.vocab');
  if (existsSync(join(dir, 'meta.json')) && existsSync(modelPath)) return { modelPath, vocabPath, dir, key, cached: true };

  await mkdir(opts.cacheDir, { recursive: true });
  const tmp = resolvePath(opts.cacheDir, `.spm-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const names = opts.inputs.map((_, i) => `input-${i}.txt`);
    await Promise.all(opts.inputs.map((f, i) => symlink(resolvePath(f), join(tmp, names[i]!))));
    const t0 = performance.now();
    const res = await run(spmTrain, [`--input=${names.join(',')}`, ...args], tmp, opts.log);
    const seconds = (performance.now() - t0) / 1000;
    if (res.code !== 0 || !existsSync(join(tmp, 'model.model'))) {
      const tail = res.out.trim().split('\n').slice(-15).join('\n');
      const tooHigh = /Vocabulary size (?:is )?too high[^\n]*/.exec(res.out);
      if (tooHigh) {
        throw new TranslationConfigError('vocabSize', opts.vocabSize, `at most what the training text supports (spm_train: ${tooHigh[0].trim()}); lower vocabSize`);
      }
      throw new Error(`${fn}: spm_train exited with code ${res.code} (vocabSize ${opts.vocabSize}, modelType ${opts.modelType}, inputs ${opts.inputs.join(', ')}). A "Vocabulary size is too high" message means the text is too small for vocabSize: lower it. Trainer output:\n${tail}`);
    }
    await Promise.all(names.map((n) => rm(join(tmp, n))));
    const meta = {
      trainer: trainerVersion,
      command: ['spm_train', `--input=${names.join(',')}`, ...args].join(' '),
      inputs: opts.inputs.map((f, i) => ({ path: resolvePath(f), name: names[i], sha256: inputHashes[i] })),
      options: { vocabSize: opts.vocabSize, modelType: opts.modelType, characterCoverage, normalization, inputSentenceSize, numThreads },
      modelSha256: await fileSha256(join(tmp, 'model.model')),
      trainSeconds: seconds,
    };
    await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    try {
      await rename(tmp, dir);
    } catch (e) {
      // another process finished the same key first: keep theirs
      if (!existsSync(join(dir, 'meta.json'))) throw e;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { modelPath, vocabPath, dir, key, cached: false };
}

/**
 * A SentencePiece subword tokenizer: encodes text to piece ids and decodes ids
 * to text with the SentencePiece encoder itself (sentencepiece-js, wasm), so ids
 * equal those of the reference library on the same model. Text is normalised by
 * the model's rule (NFKC + whitespace collapsing for `nmt_nfkc`); characters
 * outside the vocabulary map to `unk` and decode as ` ⁇ `.
 */
export class SubwordTokenizer {
  /** Number of pieces (ids are 0 … vocabSize−1). */
  readonly vocabSize: number;
  readonly pad: number;
  readonly unk: number;
  readonly bos: number;
  readonly eos: number;
  /** Model settings and pieces read from the `.model` file. */
  readonly info: SentencePieceModelInfo;

  private constructor(
    private readonly proc: InstanceType<typeof sp.SentencePieceProcessor>,
    info: SentencePieceModelInfo,
    readonly modelPath: string,
  ) {
    this.info = info;
    this.vocabSize = info.pieces.length;
    this.pad = info.padId;
    this.unk = info.unkId;
    this.bos = info.bosId;
    this.eos = info.eosId;
  }

  /** Loads a `.model` file (a Node file path). Throws if it has no padding piece (train with {@link trainSentencePiece}). */
  static async load(modelPath: string): Promise<SubwordTokenizer> {
    if (!existsSync(modelPath)) throw new Error(`SubwordTokenizer.load: model file '${modelPath}' does not exist; train one with trainSentencePiece().`);
    const info = readSentencePieceModel(await readFile(modelPath), modelPath);
    for (const [name, id] of [['pad', info.padId], ['unk', info.unkId], ['bos', info.bosId], ['eos', info.eosId]] as const) {
      if (id < 0 || id >= info.pieces.length) {
        throw new Error(`SubwordTokenizer.load: '${modelPath}' has ${name}_id = ${id}; a translation vocabulary needs pad, unk, bos and eos. Retrain with trainSentencePiece() (spm flags --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3).`);
      }
    }
    const proc = new sp.SentencePieceProcessor();
    await proc.load(modelPath);
    return new SubwordTokenizer(proc, info, modelPath);
  }

  /** Piece ids of `text` (no bos/eos added). */
  encode(text: string): number[] {
    return this.proc.encodeIds(text);
  }

  /** Pieces of `text` as strings (`▁` marks a preceding space); unknown characters appear as themselves. */
  pieces(text: string): string[] {
    return this.proc.encodePieces(text);
  }

  /** Text of piece ids; control pieces (pad, bos, eos) decode to nothing, `unk` to ` ⁇ `. */
  decode(ids: ArrayLike<number>): string {
    const arr = Array.from(ids);
    for (let i = 0; i < arr.length; i++) {
      const id = arr[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`SubwordTokenizer.decode: ids[${i}] = ${id} is outside the vocabulary [0, ${this.vocabSize - 1}].`);
      }
    }
    return this.proc.decodeIds(arr);
  }

  /** The piece string of an id. */
  idToPiece(id: number): string {
    const p = this.info.pieces[id];
    if (p === undefined) throw new Error(`SubwordTokenizer.idToPiece: id ${id} is outside the vocabulary [0, ${this.vocabSize - 1}].`);
    return p.piece;
  }
}

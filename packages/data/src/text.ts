/**
 * Parallel text corpora: Multi30k task 1 (Elliott et al. 2016) and IWSLT'14 German-English as prepared by
 * fairseq's `examples/translation/prepare-iwslt14.sh`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataFormatError, DataNotFoundError, downloadCommand } from './errors.ts';
import { readTarEntries } from './tar.ts';

/** Line-aligned source/target sentences. */
export interface ParallelCorpus {
  name: string;
  split: string;
  src: string[];
  tgt: string[];
  srcLang: string;
  tgtLang: string;
  /** files the text came from (source file first) */
  sources?: string[];
  /** what was done to the text / what is missing, in words */
  notes?: string[];
}

/** Splits file text into lines: '\n' separated, a final newline does not start an extra line, '\r' before '\n' dropped. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  return lines;
}

/** Reads a UTF-8 text file (gunzipping `.gz`) into lines. */
export async function readLines(path: string): Promise<string[]> {
  const buf = await readFile(path);
  let text: string;
  if (path.endsWith('.gz')) {
    try {
      text = gunzipSync(buf).toString('utf8');
    } catch (e) {
      throw new DataFormatError(path, `cannot gunzip: ${(e as Error).message}; the file is damaged, re-download it`);
    }
  } else text = buf.toString('utf8');
  return splitLines(text);
}

function checkAligned(srcFile: string, src: string[], tgtFile: string, tgt: string[]): void {
  if (src.length !== tgt.length) {
    throw new DataFormatError(
      srcFile,
      `parallel text is misaligned: ${srcFile} has ${src.length} lines but ${tgtFile} has ${tgt.length}; both sides must have one sentence per line in the same order`,
    );
  }
}

// ------------------------------------------------------------------------------------------------ Multi30k

/** Multi30k task-1 splits and their file stems in the multi30k/dataset repository. */
export const MULTI30K_SPLITS = {
  train: 'train',
  val: 'val',
  test2016: 'test_2016_flickr',
  test2017: 'test_2017_flickr',
  mscoco2017: 'test_2017_mscoco',
  test2018: 'test_2018_flickr',
} as const;
export type Multi30kSplit = keyof typeof MULTI30K_SPLITS;
export type Multi30kLang = 'de' | 'en' | 'fr' | 'cs';

/**
 * Loads Multi30k task 1. `root` contains `multi30k/`:
 * - raw (default): `multi30k/raw/<stem>.<lang>.gz` (or uncompressed `<stem>.<lang>`), cased, untokenized;
 * - `tokenized: true`: `multi30k/tok/<stem>.lc.norm.tok.<lang>` (official lowercase + normalise + Moses tokenizer).
 * Stems: train, val, test_2016_flickr, test_2017_flickr, test_2017_mscoco, test_2018_flickr.
 */
export async function loadMulti30k(
  root: string,
  split: Multi30kSplit,
  o: { srcLang?: Multi30kLang; tgtLang?: Multi30kLang; tokenized?: boolean } = {},
): Promise<ParallelCorpus> {
  const stem = MULTI30K_SPLITS[split];
  if (stem === undefined) throw new RangeError(`loadMulti30k: split ${JSON.stringify(split)} is unknown; valid: ${Object.keys(MULTI30K_SPLITS).join(', ')}`);
  const srcLang = o.srcLang ?? 'de';
  const tgtLang = o.tgtLang ?? 'en';
  for (const l of [srcLang, tgtLang]) if (!['de', 'en', 'fr', 'cs'].includes(l)) throw new RangeError(`loadMulti30k: language ${JSON.stringify(l)} is not one of de, en, fr, cs`);
  const dir = join(root, 'multi30k');
  const find = (lang: string): string => {
    const candidates = o.tokenized
      ? [join(dir, 'tok', `${stem}.lc.norm.tok.${lang}`)]
      : [join(dir, 'raw', `${stem}.${lang}.gz`), join(dir, 'raw', `${stem}.${lang}`)];
    const hit = candidates.find((p) => existsSync(p));
    if (!hit) throw new DataNotFoundError(`Multi30k ${split} (${lang}${o.tokenized ? ', tokenized' : ''})`, candidates, downloadCommand('multi30k', root));
    return hit;
  };
  const sf = find(srcLang);
  const tf = find(tgtLang);
  const [src, tgt] = await Promise.all([readLines(sf), readLines(tf)]);
  checkAligned(sf, src, tf, tgt);
  return { name: 'multi30k', split, src, tgt, srcLang, tgtLang, sources: [sf, tf], notes: [o.tokenized ? 'official lowercased+normalised+tokenized text' : 'raw cased text'] };
}

// ------------------------------------------------------------------------------------------------ IWSLT'14

/** The five dev/test sets, in the order fairseq concatenates them into `test`. */
export const IWSLT14_TEST_SETS = ['IWSLT14.TED.dev2010', 'IWSLT14.TEDX.dev2012', 'IWSLT14.TED.tst2010', 'IWSLT14.TED.tst2011', 'IWSLT14.TED.tst2012'] as const;

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Unescapes the XML entities (&amp; &lt; &gt; &quot; &apos; and numeric) in a segment. */
export function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return XML_ENTITIES[e] ?? m;
  });
}

/**
 * Extracts the segments of a WIT3 dev/test XML file as fairseq does: keep lines containing `<seg id`, remove
 * `<seg id="N">` + following whitespace and whitespace + `</seg>` + trailing whitespace; additionally trim,
 * and unescape XML entities (`unescape`, default true). `fairseqQuotes` maps ’ to ' as fairseq does before tokenizing.
 */
export function extractXmlSegments(xml: string, o: { unescape?: boolean; fairseqQuotes?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const line of splitLines(xml)) {
    if (!line.includes('<seg id')) continue;
    let s = line.replace(/<seg id="[0-9]*">\s*/g, '').replace(/\s*<\/seg>\s*/g, '').trim();
    if (o.unescape ?? true) s = unescapeXml(s);
    if (o.fairseqQuotes) s = s.replace(/’/g, "'");
    out.push(s);
  }
  return out;
}

/**
 * Filters the raw `train.tags.de-en.<l>` lines as fairseq does: drop lines containing `<url>`, `<talkid>` or
 * `<keywords>`; delete the tags `<title>`, `</title>`, `<description>`, `</description>` (keeping their text).
 */
export function filterTrainTags(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (l.includes('<url>') || l.includes('<talkid>') || l.includes('<keywords>')) continue;
    out.push(l.replace(/<\/?title>/g, '').replace(/<\/?description>/g, ''));
  }
  return out;
}

/**
 * Moses `clean-corpus-n.perl -ratio R corpus src tgt out MIN MAX`: normalise whitespace, drop a pair when a
 * side is empty, has fewer than MIN or more than MAX tokens, or the token-count ratio exceeds R either way.
 * Token counts come from `tokenize` (default: whitespace split). fairseq runs this on Moses-tokenized text;
 * with raw text and the default tokenizer a few borderline pairs differ.
 */
export function cleanCorpus(
  src: string[],
  tgt: string[],
  o: { ratio?: number; min?: number; max?: number; tokenize?: (s: string, side: 'src' | 'tgt') => string[] } = {},
): { src: string[]; tgt: string[]; kept: number[] } {
  const ratio = o.ratio ?? 1.5, min = o.min ?? 1, max = o.max ?? 175;
  const tok = o.tokenize ?? ((s: string) => (s === '' ? [] : s.split(' ')));
  const S: string[] = [], T: string[] = [], kept: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const s = (src[i] as string).replace(/\s+/g, ' ').trim();
    const t = (tgt[i] as string).replace(/\s+/g, ' ').trim();
    if (s === '' || t === '') continue;
    const sc = tok(s, 'src').length, tc = tok(t, 'tgt').length;
    if (sc > max || tc > max || sc < min || tc < min) continue;
    if (sc / tc > ratio || tc / sc > ratio) continue;
    S.push(s);
    T.push(t);
    kept.push(i);
  }
  return { src: S, tgt: T, kept };
}

/** Options of `loadIwslt14`. */
export interface Iwslt14Options {
  /**
   * 'raw' (default): cased, untokenized text (for subword tokenizers), prepared from the official archive;
   * 'tokenized': fairseq's Moses-tokenized lowercased files (`tokenized/`); 'bpe': fairseq's final BPE files (`bpe10k/`).
   */
  form?: 'raw' | 'tokenized' | 'bpe';
  /** source language (default 'de'; 'en' gives en→de) */
  srcLang?: 'de' | 'en';
  /** lowercase raw text (fairseq lowercases); default false */
  lowercase?: boolean;
  /** map ’ to ' in dev/test raw text as fairseq does; default false (keeps the text as published) */
  fairseqQuotes?: boolean;
  /** token counter for the length/ratio cleaning of raw train text (default whitespace split) */
  tokenize?: (s: string, side: 'src' | 'tgt') => string[];
}

interface IwsltRaw {
  origin: string;
  train?: { de: string[]; en: string[] };
  xml: Map<string, string>; // basename -> content
}

/** Finds the official archive or an extracted copy; returns what exists. */
async function readIwsltOriginal(dir: string, needTrain: boolean): Promise<IwsltRaw | null> {
  const tgz = join(dir, 'de-en.tgz');
  const folders = [join(dir, 'orig', 'de-en'), join(dir, 'de-en'), join(dir, 'raw-xml'), dir];
  const isWanted = (n: string) => /(^|\/)train\.tags\.de-en\.(de|en)$/.test(n) || /(^|\/)IWSLT14\.TEDX?\.[a-z0-9]+\.de-en\.(de|en)\.xml$/.test(n);
  if (existsSync(tgz)) {
    const entries = await readTarEntries(tgz, isWanted);
    const xml = new Map<string, string>();
    const train: Partial<Record<'de' | 'en', string[]>> = {};
    for (const [n, buf] of entries) {
      const b = basename(n);
      if (b.startsWith('train.tags')) train[b.endsWith('.de') ? 'de' : 'en'] = splitLines(buf.toString('utf8'));
      else xml.set(b, buf.toString('utf8'));
    }
    return { origin: tgz, xml, ...(train.de && train.en ? { train: { de: train.de, en: train.en } } : {}) };
  }
  for (const f of folders) {
    const trainDe = join(f, 'train.tags.de-en.de');
    const trainEn = join(f, 'train.tags.de-en.en');
    const hasTrain = existsSync(trainDe) && existsSync(trainEn);
    const hasXml = existsSync(join(f, `${IWSLT14_TEST_SETS[0]}.de-en.de.xml`));
    if (!hasTrain && !(hasXml && !needTrain)) continue;
    const xml = new Map<string, string>();
    for (const set of IWSLT14_TEST_SETS) {
      for (const l of ['de', 'en']) {
        const p = join(f, `${set}.de-en.${l}.xml`);
        if (existsSync(p)) xml.set(basename(p), await readFile(p, 'utf8'));
      }
    }
    const out: IwsltRaw = { origin: f, xml };
    if (hasTrain) out.train = { de: await readLines(trainDe), en: await readLines(trainEn) };
    return out;
  }
  return null;
}

/**
 * Loads IWSLT'14 de-en with fairseq's splits (`prepare-iwslt14.sh`). `root` contains `iwslt14-de-en/`.
 *
 * - test = dev2010 + TEDX.dev2012 + tst2010 + tst2011 + tst2012 (6,750 pairs), in that order;
 * - valid = every 23rd line (1-based lines 23, 46, ...) of the cleaned training text; train = the other lines.
 *
 * Raw form: from `iwslt14-de-en/de-en.tgz` (official archive, read without extracting) or its extracted
 * `orig/de-en/` or `de-en/` folder (train.tags.de-en.{de,en} + dev/test XML); dev/test also from `raw-xml/`
 * or `raw-text/test.*`. Train text: tag lines dropped as fairseq does, whitespace normalised, length 1..175
 * and ratio 1.5 cleaning (`cleanCorpus`), optional lowercasing. (fairseq cleans Moses-tokenized text; this
 * package does not tokenize, so the cleaning counts whitespace tokens unless `tokenize` is given.)
 * Tokenized/bpe forms read `tokenized/<split>.<l>` / `bpe10k/<split>.<l>`.
 *
 * When the training text is absent (as in a data dir holding only the published valid/test files), asking for
 * train, or for raw valid, throws DataNotFoundError saying train is missing and what is available instead.
 */
export async function loadIwslt14(root: string, split: 'train' | 'valid' | 'test', o: Iwslt14Options = {}): Promise<ParallelCorpus> {
  if (split !== 'train' && split !== 'valid' && split !== 'test') throw new RangeError(`loadIwslt14: split must be 'train', 'valid' or 'test', got ${JSON.stringify(split)}`);
  const form = o.form ?? 'raw';
  if (form !== 'raw' && form !== 'tokenized' && form !== 'bpe') throw new RangeError(`loadIwslt14: form must be 'raw', 'tokenized' or 'bpe', got ${JSON.stringify(form)}`);
  const srcLang = o.srcLang ?? 'de';
  const tgtLang = srcLang === 'de' ? 'en' : 'de';
  const dir = join(root, 'iwslt14-de-en');
  const dl = downloadCommand('iwslt14', root);
  const finish = (de: string[], en: string[], sources: string[], notes: string[]): ParallelCorpus => {
    const lc = form === 'raw' && o.lowercase;
    const map = (a: string[]) => (lc ? a.map((s) => s.toLowerCase()) : a);
    if (lc) notes.push('lowercased');
    return { name: 'iwslt14', split, src: map(srcLang === 'de' ? de : en), tgt: map(srcLang === 'de' ? en : de), srcLang, tgtLang, sources, notes };
  };

  if (form !== 'raw') {
    const sub = form === 'tokenized' ? 'tokenized' : 'bpe10k';
    const fde = join(dir, sub, `${split}.de`);
    const fen = join(dir, sub, `${split}.en`);
    if (!existsSync(fde) || !existsSync(fen)) {
      const avail = ['valid', 'test'].filter((s) => existsSync(join(dir, sub, `${s}.de`)));
      throw new DataNotFoundError(
        `IWSLT'14 ${split} split (${form})${split === 'train' ? ': the training split is missing' : ''}${avail.length ? ` (available in ${sub}/: ${avail.join(', ')})` : ''}`,
        [fde, fen],
        split === 'train'
          ? `${dl}, then run fairseq's examples/translation/prepare-iwslt14.sh (needs Moses + subword-nmt), or use form: 'raw' with the downloaded de-en.tgz`
          : dl,
      );
    }
    const [de, en] = await Promise.all([readLines(fde), readLines(fen)]);
    checkAligned(fde, de, fen, en);
    return finish(de, en, [fde, fen], [`fairseq ${form} text`]);
  }

  const orig = await readIwsltOriginal(dir, split !== 'test');
  if (split === 'test') {
    if (orig && orig.xml.size > 0) {
      const de: string[] = [], en: string[] = [];
      const sources: string[] = [];
      for (const set of IWSLT14_TEST_SETS) {
        const names = [`${set}.de-en.de.xml`, `${set}.de-en.en.xml`];
        const [xde, xen] = names.map((n) => orig.xml.get(n));
        if (xde === undefined || xen === undefined) {
          throw new DataNotFoundError(`IWSLT'14 test set ${set} (${names.join(', ')})`, [orig.origin], dl);
        }
        const sde = extractXmlSegments(xde, { fairseqQuotes: o.fairseqQuotes ?? false });
        const sen = extractXmlSegments(xen, { fairseqQuotes: o.fairseqQuotes ?? false });
        checkAligned(`${orig.origin}/${names[0]}`, sde, `${orig.origin}/${names[1]}`, sen);
        de.push(...sde);
        en.push(...sen);
        sources.push(`${orig.origin}/${names[0]}`, `${orig.origin}/${names[1]}`);
      }
      return finish(de, en, sources, ['raw text extracted from the official XML (entities unescaped)']);
    }
    const fde = join(dir, 'raw-text', 'test.de');
    const fen = join(dir, 'raw-text', 'test.en');
    if (existsSync(fde) && existsSync(fen)) {
      const [de, en] = await Promise.all([readLines(fde), readLines(fen)]);
      checkAligned(fde, de, fen, en);
      return finish(de, en, [fde, fen], ['raw text from raw-text/test.*']);
    }
    throw new DataNotFoundError(`IWSLT'14 test split (raw)`, [join(dir, 'de-en.tgz'), join(dir, 'orig', 'de-en'), join(dir, 'raw-xml'), fde], dl);
  }

  if (!orig?.train) {
    const alt = ['tokenized', 'bpe10k'].filter((s) => existsSync(join(dir, s, 'valid.de'))).map((s) => `${s}/valid.*`);
    throw new DataNotFoundError(
      `IWSLT'14 ${split} split (raw): the training text train.tags.de-en.{de,en} is missing (raw valid is cut from it)${alt.length ? `; available instead: ${alt.join(', ')} (form 'tokenized' / 'bpe' valid)` : ''}`,
      [join(dir, 'de-en.tgz'), join(dir, 'orig', 'de-en', 'train.tags.de-en.de'), join(dir, 'de-en', 'train.tags.de-en.de'), join(dir, 'train.tags.de-en.de')],
      dl,
    );
  }
  const fde = filterTrainTags(orig.train.de);
  const fen = filterTrainTags(orig.train.en);
  checkAligned(`${orig.origin}:train.tags.de-en.de (after tag filtering)`, fde, `${orig.origin}:train.tags.de-en.en`, fen);
  const cleaned = cleanCorpus(fde, fen, { ratio: 1.5, min: 1, max: 175, ...(o.tokenize ? { tokenize: (s, side) => (o.tokenize as NonNullable<Iwslt14Options['tokenize']>)(s, side) } : {}) });
  const de: string[] = [], en: string[] = [];
  for (let i = 0; i < cleaned.src.length; i++) {
    if (((i + 1) % 23 === 0) === (split === 'valid')) {
      de.push(cleaned.src[i] as string);
      en.push(cleaned.tgt[i] as string);
    }
  }
  return finish(de, en, [`${orig.origin}:train.tags.de-en.de`, `${orig.origin}:train.tags.de-en.en`], [
    `fairseq tag filtering; cleaning 1..175 tokens, ratio 1.5 (${fde.length} → ${cleaned.src.length} pairs); ${split} = ${split === 'valid' ? 'every 23rd line' : 'all but every 23rd line'}`,
  ]);
}

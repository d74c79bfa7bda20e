import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataFormatError, DataNotFoundError } from './errors.ts';
import { writeTar } from './tar.ts';
import { cleanCorpus, extractXmlSegments, filterTrainTags, IWSLT14_TEST_SETS, loadIwslt14, loadMulti30k, MULTI30K_SPLITS, splitLines } from './text.ts';
import { DATA_DIR, NO_DATA, SKIP_REASON, realPath } from '../test/real-data.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'asam-text-'));

describe('text helpers', () => {
  it('splitLines: final newline and CRLF', () => {
    expect(splitLines('a\nb\n')).toEqual(['a', 'b']);
    expect(splitLines('a\r\n\nb')).toEqual(['a', '', 'b']);
    expect(splitLines('')).toEqual([]);
  });
  it('extractXmlSegments follows fairseq (seg lines only, strip tags + whitespace) and unescapes entities', () => {
    const xml = '<refset>\n<doc docid="1">\n<talkid>1</talkid>\n<seg id="1">  Tom &amp; Jerry’s &gt; </seg>\n<seg id="22">Zwei</seg>  \n</doc>\n';
    expect(extractXmlSegments(xml)).toEqual(['Tom & Jerry’s >', 'Zwei']);
    expect(extractXmlSegments(xml, { fairseqQuotes: true })[0]).toBe("Tom & Jerry's >");
  });
  it('filterTrainTags drops url/talkid/keywords lines and strips title/description tags', () => {
    expect(filterTrainTags(['<url>http://x</url>', '<keywords>a</keywords>', '<talkid>5</talkid>', '<title>T: x</title>', '<description>D</description>', 'Hallo Welt.'])).toEqual(['T: x', 'D', 'Hallo Welt.']);
  });
  it('cleanCorpus: empty, length 1..175 and ratio 1.5 rules, whitespace normalised', () => {
    const long = Array(176).fill('w').join(' ');
    const r = cleanCorpus(['a  b ', '', 'a', 'a b c d', long, 'x y'], ['c d', 'x', 'b', 'a b', long, 'z w v'], {});
    expect(r.src).toEqual(['a b', 'a', 'x y']);
    expect(r.tgt).toEqual(['c d', 'b', 'z w v']);
    expect(r.kept).toEqual([0, 2, 5]);
  });
});

/** Builds a synthetic official-layout de-en.tgz: train.tags + the five XML sets. */
function synthIwsltTgz(): { buf: Buffer; pairs: [string, string][] } {
  const pairs: [string, string][] = [];
  const de: string[] = ['<url>http://www.ted.com/talks/x.html</url>', '<keywords>talks</keywords>', '<talkid>1</talkid>', '<title>Titel Eins</title>', '<description>Beschreibung hier</description>'];
  const en: string[] = ['<url>http://www.ted.com/talks/x.html</url>', '<keywords>talks</keywords>', '<talkid>1</talkid>', '<title>Title One</title>', '<description>Description here</description>'];
  pairs.push(['Titel Eins', 'Title One'], ['Beschreibung hier', 'Description here']);
  for (let i = 0; i < 60; i++) {
    if (i === 10) { de.push('eins zwei drei vier'); en.push('one'); continue; } // ratio > 1.5: dropped
    if (i === 11) { de.push(''); en.push(''); continue; } // empty: dropped
    de.push(`Satz ${i}  hier .`);
    en.push(`Sentence ${i} here .`);
    pairs.push([`Satz ${i} hier .`, `Sentence ${i} here .`]);
  }
  const entries = [
    { name: 'de-en/train.tags.de-en.de', data: Buffer.from(de.join('\n') + '\n') },
    { name: 'de-en/train.tags.de-en.en', data: Buffer.from(en.join('\n') + '\n') },
  ];
  IWSLT14_TEST_SETS.forEach((set, k) => {
    for (const l of ['de', 'en']) {
      const segs = [1, 2].map((j) => `<seg id="${j}"> ${set} ${l} ${j} &amp; ${k} </seg>`);
      entries.push({ name: `de-en/${set}.de-en.${l}.xml`, data: Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<mteval>\n<doc>\n${segs.join('\n')}\n</doc>\n</mteval>\n`) });
    }
  });
  return { buf: writeTar(entries, { gzip: true }), pairs };
}

describe('IWSLT14 from the official archive layout (synthetic de-en.tgz)', () => {
  const root = tmp();
  mkdirSync(join(root, 'iwslt14-de-en'));
  const { buf, pairs } = synthIwsltTgz();
  writeFileSync(join(root, 'iwslt14-de-en', 'de-en.tgz'), buf);

  it('valid = every 23rd cleaned line, train = the rest, tags handled as fairseq', async () => {
    const valid = await loadIwslt14(root, 'valid');
    const train = await loadIwslt14(root, 'train');
    expect(pairs.length).toBe(60);
    expect(valid.src).toEqual([pairs[22]![0], pairs[45]![0]]);
    expect(valid.tgt).toEqual([pairs[22]![1], pairs[45]![1]]);
    expect(train.src.length).toBe(58);
    expect(train.src[0]).toBe('Titel Eins');
    expect(train.tgt).not.toContain(pairs[22]![1]);
    expect(train.src.join('\n')).not.toMatch(/<|eins zwei drei vier/);
    const lc = await loadIwslt14(root, 'train', { lowercase: true, srcLang: 'en' });
    expect(lc.src[0]).toBe('title one');
    expect(lc.srcLang).toBe('en');
  });

  it('test = dev2010, TEDX.dev2012, tst2010, tst2011, tst2012 in that order', async () => {
    const test = await loadIwslt14(root, 'test');
    expect(test.src.length).toBe(10);
    expect(test.src[0]).toBe('IWSLT14.TED.dev2010 de 1 & 0');
    expect(test.tgt[2]).toBe('IWSLT14.TEDX.dev2012 en 1 & 1');
    expect(test.tgt[9]).toBe('IWSLT14.TED.tst2012 en 2 & 4');
  });
});

describe('Multi30k (synthetic)', () => {
  it('misaligned files give an error naming both files and counts', async () => {
    const root = tmp();
    mkdirSync(join(root, 'multi30k', 'raw'), { recursive: true });
    writeFileSync(join(root, 'multi30k', 'raw', 'val.de.gz'), gzipSync('a\nb\nc\n'));
    writeFileSync(join(root, 'multi30k', 'raw', 'val.en.gz'), gzipSync('a\nb\n'));
    const err = await loadMulti30k(root, 'val').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect((err as Error).message).toMatch(/val\.de\.gz has 3 lines but .*val\.en\.gz has 2/);
    const nf = await loadMulti30k(root, 'train').catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(DataNotFoundError);
    expect((nf as Error).message).toMatch(/train\.de\.gz[\s\S]*download/);
    await expect(loadMulti30k(root, 'dev' as 'val')).rejects.toThrow(/valid: train, val, test2016/);
  });
});

describe.skipIf(NO_DATA)(`Multi30k real files (${NO_DATA ? SKIP_REASON : DATA_DIR})`, () => {
  const counts: Record<string, number> = { train: 29000, val: 1014, test2016: 1000, test2017: 1000, mscoco2017: 461, test2018: 1071 };
  it('every split, raw and tokenized, has the published size; first pairs match', async () => {
    realPath('multi30k', 'raw', 'train.de.gz');
    for (const split of Object.keys(MULTI30K_SPLITS) as (keyof typeof MULTI30K_SPLITS)[]) {
      for (const tokenized of [false, true]) {
        const c = await loadMulti30k(DATA_DIR as string, split, { tokenized });
        expect(c.src.length, `${split} tokenized=${tokenized}`).toBe(counts[split]);
        expect(c.tgt.length).toBe(counts[split]);
      }
    }
    const train = await loadMulti30k(DATA_DIR as string, 'train');
    expect(train.src[0]).toBe('Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.');
    expect(train.tgt[1]).toBe('Several men in hard hats are operating a giant pulley system.');
    const val = await loadMulti30k(DATA_DIR as string, 'val', { tokenized: true, srcLang: 'en', tgtLang: 'de' });
    expect(val.src[0]).toBe('a group of men are loading cotton onto a truck');
  });
});

describe.skipIf(NO_DATA)(`IWSLT14 real files (${NO_DATA ? SKIP_REASON : DATA_DIR})`, () => {
  it('raw test from the XML equals the published raw-text line for line (6,750 pairs)', async () => {
    const d = realPath('iwslt14-de-en', 'raw-xml');
    const test = await loadIwslt14(DATA_DIR as string, 'test');
    expect(test.sources?.[0]).toContain(d);
    expect(test.src.length).toBe(6750);
    expect(test.src).toEqual(splitLines(readFileSync(realPath('iwslt14-de-en', 'raw-text', 'test.de'), 'utf8')));
    expect(test.tgt).toEqual(splitLines(readFileSync(realPath('iwslt14-de-en', 'raw-text', 'test.en'), 'utf8')));
  });
  it('tokenized and bpe valid/test have fairseq sizes and are aligned', async () => {
    for (const form of ['tokenized', 'bpe'] as const) {
      expect((await loadIwslt14(DATA_DIR as string, 'test', { form })).src.length).toBe(6750);
      const v = await loadIwslt14(DATA_DIR as string, 'valid', { form });
      expect(v.src.length).toBe(7283);
      expect(v.tgt.length).toBe(7283);
    }
    const bpe = await loadIwslt14(DATA_DIR as string, 'valid', { form: 'bpe' });
    expect(bpe.tgt[0]).toBe('it &apos;s that pyrami@@ d .');
  });
  it('missing train split is reported clearly, with what is available', async () => {
    realPath('iwslt14-de-en', 'tokenized', 'valid.de');
    const e1 = await loadIwslt14(DATA_DIR as string, 'train', { form: 'tokenized' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(DataNotFoundError);
    expect((e1 as Error).message).toMatch(/training split is missing \(available in tokenized\/: valid, test\)/);
    const e2 = await loadIwslt14(DATA_DIR as string, 'valid').catch((e: unknown) => e);
    expect((e2 as Error).message).toMatch(/train\.tags\.de-en\.\{de,en\} is missing.*available instead: tokenized\/valid\.\*, bpe10k\/valid\.\*/);
  });
});

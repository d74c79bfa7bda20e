#!/usr/bin/python3
"""Reference ids/pieces of the SentencePiece library for the tokenizer test.

Writes packages/nmt/test/fixtures/spm-reference.json. Requirements (Debian):
`apt-get install sentencepiece python3-sentencepiece` (run with /usr/bin/python3,
the interpreter python3-sentencepiece is installed for).

For each model spec below it
  1. decompresses $ASAM_DATA_DIR/multi30k/raw/val.de.gz and val.en.gz into a scratch
     folder as input-0.txt / input-1.txt and runs `spm_train` there with exactly the
     flags of trainSentencePiece() in src/tokenizer.ts (fixed names and prefix, so the
     .model bytes do not depend on paths) and records the model's SHA-256;
  2. loads the model with the Python SentencePiece library (the reference) and records
     ids, pieces and the decoded text of hand-written German/English sentences;
  3. encodes every line of multi30k/raw/test_2016_flickr.{de,en}.gz and records only
     digests (SHA-256 of the ids / pieces, one line per sentence) and counts, so no
     corpus text is copied into the repository.

The test retrains the same models through trainSentencePiece(), checks the model hash
(training is bit-reproducible) and compares sentencepiece-js's output with these numbers.

Usage: ASAM_DATA_DIR=/path/to/data /usr/bin/python3 packages/nmt/scripts/spm_reference.py
"""
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'spm-reference.json')

# Must match trainSentencePiece() defaults in src/tokenizer.ts (besides vocab size / model type).
SPECS = [
    {'name': 'bpe1000', 'vocabSize': 1000, 'modelType': 'bpe'},
    {'name': 'unigram800', 'vocabSize': 800, 'modelType': 'unigram'},
]


def flags(spec):
    return [
        '--model_prefix=model',
        f"--vocab_size={spec['vocabSize']}",
        f"--model_type={spec['modelType']}",
        '--character_coverage=1',
        '--normalization_rule_name=nmt_nfkc',
        '--pad_id=0', '--unk_id=1', '--bos_id=2', '--eos_id=3',
        '--input_sentence_size=0',
        '--shuffle_input_sentence=false',
        '--num_threads=1',
        '--random_seed=1',
    ]


SENTENCES = [
    'Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt.',
    'A man in an orange hat starring at something.',
    'Zwei junge Männer spielen Fußball auf einer Straße.',
    'Die Größe des Gebäudes überrascht die Touristen!',
    'Two dogs run through the snow - one is brown, the other white.',
    '  Leading and trailing   spaces   ',
    'Zahlen: 3,5 Kilometer und 12:30 Uhr; 100% sicher?',
    'Quotes "like this" and \'this\' (and brackets) [x] {y}',
    'Unseen characters: 😀 日本語 Ωμέγα',
    'Ligatures and width: ﬁne ＦＵＬＬ width １２３',
    'ÄÖÜ äöü ß ẞ é è ê ç ñ',
    '',
    'a',
    'Ein Hund.',
]


def digest(lines):
    return hashlib.sha256('\n'.join(lines).encode('utf-8')).hexdigest()


def main():
    data = os.environ.get('ASAM_DATA_DIR')
    if not data:
        sys.exit('set ASAM_DATA_DIR to the data folder (it must contain multi30k/raw/)')
    raw = os.path.join(data, 'multi30k', 'raw')
    corpus = {}
    for lang in ('de', 'en'):
        with gzip.open(os.path.join(raw, f'test_2016_flickr.{lang}.gz'), 'rt', encoding='utf-8') as f:
            corpus[lang] = f.read().split('\n')
        if corpus[lang] and corpus[lang][-1] == '':
            corpus[lang].pop()
    version = subprocess.run(['spm_train', '--version'], capture_output=True, text=True).stdout.strip()
    out = {
        '_origin': 'written by packages/nmt/scripts/spm_reference.py (Python SentencePiece %s, trainer %s); '
                   'models trained on multi30k/raw/val.{de,en}.gz' % (spm.__version__, version),
        'trainer': version,
        'trainInputs': ['multi30k/raw/val.de.gz', 'multi30k/raw/val.en.gz'],
        'corpusFiles': ['multi30k/raw/test_2016_flickr.de.gz', 'multi30k/raw/test_2016_flickr.en.gz'],
        'models': [],
    }
    for spec in SPECS:
        with tempfile.TemporaryDirectory() as tmp:
            for i, lang in enumerate(('de', 'en')):
                with gzip.open(os.path.join(raw, f'val.{lang}.gz'), 'rb') as src, open(os.path.join(tmp, f'input-{i}.txt'), 'wb') as dst:
                    dst.write(src.read())
            subprocess.run(['spm_train', '--input=input-0.txt,input-1.txt'] + flags(spec), cwd=tmp, check=True, capture_output=True)
            model_path = os.path.join(tmp, 'model.model')
            with open(model_path, 'rb') as f:
                model_bytes = f.read()
            sp = spm.SentencePieceProcessor(model_file=model_path)
        entry = dict(spec)
        entry['modelSha256'] = hashlib.sha256(model_bytes).hexdigest()
        entry['pieceSize'] = sp.get_piece_size()
        entry['special'] = {'pad': sp.pad_id(), 'unk': sp.unk_id(), 'bos': sp.bos_id(), 'eos': sp.eos_id()}
        entry['firstPieces'] = [sp.id_to_piece(i) for i in range(12)]
        entry['sentences'] = [
            {'text': s, 'ids': sp.encode(s), 'pieces': sp.encode(s, out_type=str), 'decoded': sp.decode(sp.encode(s))}
            for s in SENTENCES
        ]
        entry['corpus'] = {}
        for lang in ('de', 'en'):
            lines = corpus[lang]
            ids = [sp.encode(l) for l in lines]
            entry['corpus'][lang] = {
                'lines': len(lines),
                'numIds': sum(len(x) for x in ids),
                'numUnk': sum(x.count(sp.unk_id()) for x in ids),
                'idsSha256': digest([' '.join(map(str, x)) for x in ids]),
                'piecesSha256': digest([' '.join(sp.encode(l, out_type=str)) for l in lines]),
                'decodedSha256': digest([sp.decode(x) for x in ids]),
                'roundTripExact': sum(1 for l, x in zip(lines, ids) if sp.decode(x) == l),
            }
        out['models'].append(entry)
    with open(OUT, 'w', encoding='utf-8') as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write('\n')
    print('wrote', os.path.normpath(OUT))


if __name__ == '__main__':
    main()

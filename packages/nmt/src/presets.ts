/**
 * Named Transformer architectures (a strict registry, in the manner of fairseq's `@register_model_architecture`).
 *
 * `transformer_iwslt_de_en` is fairseq's recipe for IWSLT'14 German-English (Vaswani et al. 2017 base model with a
 * narrower FFN and 4 heads, dropout 0.3, shared decoder input/output embeddings). The other presets are CPU-sized
 * variants for this machine and for tests.
 */

/** Architecture of an encoder-decoder Transformer. Vocabulary sizes come from the tokenizer, not from here. */
export interface TransformerArch {
  encoderLayers: number;
  decoderLayers: number;
  /** Model width d_model (embedding size). */
  dModel: number;
  /** Inner width of the position-wise feed-forward block. */
  ffnDim: number;
  heads: number;
  /** Dropout on embeddings, attention output and FFN output (fairseq `--dropout`). */
  dropout: number;
  /** Dropout on attention probabilities (fairseq `--attention-dropout`). */
  attentionDropout: number;
  /** Dropout after the FFN ReLU (fairseq `--activation-dropout`). */
  activationDropout: number;
  /** Tie the decoder's input embedding and output projection (fairseq `--share-decoder-input-output-embed`). */
  shareDecoderInputOutputEmbed: boolean;
  /** Use one embedding matrix for source, target and output (needs a joint vocabulary). */
  shareAllEmbeddings: boolean;
  /** Layer norm before each sub-block (pre-norm) instead of after the residual add (post-norm, fairseq default). */
  preNorm: boolean;
  /** Multiply token embeddings by sqrt(dModel) (fairseq default; `--no-scale-embedding` turns it off). */
  scaleEmbedding: boolean;
}

/** A named architecture with the recipe it comes from. */
export interface TransformerPreset {
  name: string;
  description: string;
  arch: TransformerArch;
}

const registry = new Map<string, TransformerPreset>();

/** Adds a preset; refuses duplicate names and invalid architectures. */
export function registerPreset(p: TransformerPreset): void {
  if (registry.has(p.name)) throw new Error(`Transformer preset '${p.name}' is already registered; pick another name.`);
  if (!/^[a-z][a-z0-9_]*$/.test(p.name)) {
    throw new Error(`Transformer preset name '${p.name}' must be lower_snake_case (letters, digits, '_').`);
  }
  validateArch(p.arch, `preset ${p.name}`);
  registry.set(p.name, { ...p, arch: { ...p.arch } });
}

/** Looks a preset up by name; an unknown name lists the valid ones. Returns a copy. */
export function getPreset(name: string): TransformerPreset {
  const p = registry.get(name);
  if (!p) {
    throw new Error(`Unknown Transformer preset '${name}'. Valid presets: ${listPresets().join(', ')}.`);
  }
  return { ...p, arch: { ...p.arch } };
}

/** Names of all registered presets, in registration order. */
export function listPresets(): string[] {
  return [...registry.keys()];
}

/** Checks an architecture; errors name the field, the value and the valid range. */
export function validateArch(a: TransformerArch, where = 'arch'): void {
  const posInt = (field: keyof TransformerArch, min = 1): void => {
    const v = a[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new Error(`${where}.${field} = ${String(v)} is invalid: expected an integer >= ${min}.`);
    }
  };
  const rate = (field: keyof TransformerArch): void => {
    const v = a[field];
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) {
      throw new Error(`${where}.${field} = ${String(v)} is invalid: expected a number in [0, 1).`);
    }
  };
  const bool = (field: keyof TransformerArch): void => {
    if (typeof a[field] !== 'boolean') throw new Error(`${where}.${field} = ${String(a[field])} is invalid: expected true or false.`);
  };
  posInt('encoderLayers');
  posInt('decoderLayers');
  posInt('dModel', 2);
  posInt('ffnDim');
  posInt('heads');
  if (a.dModel % a.heads !== 0) {
    throw new Error(`${where}.dModel = ${a.dModel} is not divisible by ${where}.heads = ${a.heads}; choose heads dividing dModel.`);
  }
  if (a.dModel % 2 !== 0) throw new Error(`${where}.dModel = ${a.dModel} must be even (sinusoidal positions use sin/cos halves).`);
  rate('dropout');
  rate('attentionDropout');
  rate('activationDropout');
  bool('shareDecoderInputOutputEmbed');
  bool('shareAllEmbeddings');
  bool('preNorm');
  bool('scaleEmbedding');
}

const fairseqDefaults = {
  attentionDropout: 0,
  activationDropout: 0,
  preNorm: false,
  scaleEmbedding: true,
};

registerPreset({
  name: 'transformer_iwslt_de_en',
  description:
    "fairseq transformer_iwslt_de_en: 6+6 layers, d_model 512, FFN 1024, 4 heads, dropout 0.3, post-norm, " +
    'shared decoder input/output embeddings, sinusoidal positions (fairseq examples/translation, IWSLT\'14 de-en).',
  arch: {
    encoderLayers: 6,
    decoderLayers: 6,
    dModel: 512,
    ffnDim: 1024,
    heads: 4,
    dropout: 0.3,
    shareDecoderInputOutputEmbed: true,
    shareAllEmbeddings: false,
    ...fairseqDefaults,
  },
});

registerPreset({
  name: 'transformer_small',
  description: 'CPU-sized: 3+3 layers, d_model 256, FFN 1024, 4 heads, dropout 0.3, post-norm, all embeddings shared.',
  arch: {
    encoderLayers: 3,
    decoderLayers: 3,
    dModel: 256,
    ffnDim: 1024,
    heads: 4,
    dropout: 0.3,
    shareDecoderInputOutputEmbed: true,
    shareAllEmbeddings: true,
    ...fairseqDefaults,
  },
});

registerPreset({
  name: 'transformer_mini',
  description: 'CPU minutes-scale runs: 2+2 layers, d_model 128, FFN 512, 4 heads, dropout 0.1, all embeddings shared.',
  arch: {
    encoderLayers: 2,
    decoderLayers: 2,
    dModel: 128,
    ffnDim: 512,
    heads: 4,
    dropout: 0.1,
    shareDecoderInputOutputEmbed: true,
    shareAllEmbeddings: true,
    ...fairseqDefaults,
  },
});

registerPreset({
  name: 'transformer_tiny',
  description: 'For tests: 2+2 layers, d_model 32, FFN 64, 4 heads, no dropout.',
  arch: {
    encoderLayers: 2,
    decoderLayers: 2,
    dModel: 32,
    ffnDim: 64,
    heads: 4,
    dropout: 0,
    shareDecoderInputOutputEmbed: true,
    shareAllEmbeddings: false,
    ...fairseqDefaults,
  },
});

/**
 * Named Transformer architectures (a strict registry, in the manner of fairseq's `@register_model_architecture`).
 *
 * `transformer_iwslt_de_en` is fairseq's recipe for IWSLT'14 German-English (Vaswani et al. 2017 base model with a
 * narrower FFN and 4 heads, dropout 0.3, shared decoder input/output embeddings). The other presets are CPU-sized
 * variants for this machine and for tests.
 */
import { addConfigIssue, booleanField, createRegistry, numberField, parseConfig } from '@asam/train';
import { z } from 'zod';

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

const posInt = (min = 1) => numberField({ int: true, min, expected: `an integer >= ${min}` });
const rate = () => numberField({ min: 0, lt: 1, expected: 'a number in [0, 1)' });

/** Each architecture field on its own (also the fields `archOverrides` of a translation config may set). */
export const transformerArchFields = {
  encoderLayers: posInt().describe('Encoder layers.'),
  decoderLayers: posInt().describe('Decoder layers.'),
  dModel: posInt(2).describe('Model width d_model (embedding size); even, divisible by heads.'),
  ffnDim: posInt().describe('Inner width of the position-wise feed-forward block.'),
  heads: posInt().describe('Attention heads; must divide dModel.'),
  dropout: rate().describe('Dropout on embeddings, attention output and FFN output (fairseq --dropout).'),
  attentionDropout: rate().describe('Dropout on attention probabilities (fairseq --attention-dropout).'),
  activationDropout: rate().describe('Dropout after the FFN ReLU (fairseq --activation-dropout).'),
  shareDecoderInputOutputEmbed: booleanField().describe("Tie the decoder's input embedding and output projection."),
  shareAllEmbeddings: booleanField().describe('One embedding matrix for source, target and output (needs a joint vocabulary).'),
  preNorm: booleanField().describe('Layer norm before each sub-block (pre-norm) instead of after the residual add (post-norm).'),
  scaleEmbedding: booleanField().describe('Multiply token embeddings by sqrt(dModel) (fairseq default).'),
} satisfies Record<keyof TransformerArch, z.ZodType>;

/** A complete architecture: every field valid, heads dividing dModel, dModel even. */
export const transformerArchSchema: z.ZodType<TransformerArch, TransformerArch> = z.object(transformerArchFields, { error: 'an object of architecture fields' })
  .superRefine((a, ctx) => {
    if (a.dModel % a.heads !== 0) addConfigIssue(ctx, ['heads'], a.heads, `a divisor of dModel = ${a.dModel} (dModel must be divisible by heads); choose heads dividing dModel`);
    if (a.dModel % 2 !== 0) addConfigIssue(ctx, ['dModel'], a.dModel, 'an even number (sinusoidal positions use sin/cos halves)');
  });

const presets = createRegistry<TransformerPreset>('Transformer preset');

/** Adds a preset; refuses names that are not lower_snake or already taken, and invalid architectures. */
export function registerPreset(p: TransformerPreset): void {
  if (!presets.has(p.name)) validateArch(p.arch, `preset ${p.name}`);
  presets.register(p.name, { ...p, arch: { ...p.arch } });
}

/** Looks a preset up by name; an unknown name (UnknownIdError) lists the valid ones. Returns a copy. */
export function getPreset(name: string): TransformerPreset {
  const p = presets.get(name);
  return { ...p, arch: { ...p.arch } };
}

/** Names of all registered presets, in registration order. */
export function listPresets(): string[] {
  return presets.ids();
}

/**
 * Checks an architecture (`transformerArchSchema`); throws a ConfigError naming `<where>.<field>`, the value, the
 * valid range and the fix.
 */
export function validateArch(a: TransformerArch, where = 'arch'): void {
  parseConfig(transformerArchSchema, a, where);
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

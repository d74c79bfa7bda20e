/** Types for sentencepiece-js 1.1.0 (the package ships none): the processor API it exposes. */
declare module 'sentencepiece-js' {
  /** The embind processor behind the wrapper; only the methods used here are declared. */
  interface EmbindProcessor {
    PieceToId(piece: unknown): number;
  }
  export class SentencePieceProcessor {
    /** Reads a `.model` file (Node file path) into a fresh wasm instance. */
    load(path: string): Promise<void>;
    encodeIds(text: string): number[];
    encodePieces(text: string): string[];
    decodeIds(ids: number[]): string;
    processor: EmbindProcessor;
  }
  const sp: { SentencePieceProcessor: typeof SentencePieceProcessor; cleanText(text: string): string };
  export default sp;
}

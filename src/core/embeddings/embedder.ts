/** What a loaded embedding model reports about itself. */
export interface EmbedderInfo {
  /** The model id or directory it was loaded from. */
  model: string;
  dimension: number;
  /** Longest input, in tokens, that the model embeds without truncating it. */
  maxTokens: number;
}

/**
 * Turns texts into normalized sentence vectors. The transformers.js adapter runs
 * in a worker thread; tests inject deterministic fakes.
 */
export interface Embedder {
  /** Loads the model (downloading it first where allowed); rejects with a reason a user can act on. */
  load(): Promise<EmbedderInfo>;
  /** One vector per text; undefined for a text the model would have to truncate, which must not be compared. */
  embed(texts: string[]): Promise<Array<Float32Array | undefined>>;
  close(): Promise<void>;
}

/** The cosine of two of an embedder's vectors: they are normalized, so it is their dot product. */
export function cosineOfUnit(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** Precisions transformers.js can load: fp32 is `onnx/model.onnx`, q8 is `onnx/model_quantized.onnx`. */
export type EmbeddingDtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4';

export interface EmbeddingModelOptions {
  /** A Hugging Face model id, or a local directory holding config.json, tokenizer.json and onnx/. */
  model: string;
  dtype: EmbeddingDtype;
  /** Where downloaded models are kept; null for transformers.js's default. */
  cacheDir: string | null;
  /** Whether a model id may be fetched from the Hugging Face hub. */
  allowDownload: boolean;
  /** ONNX Runtime threads for one embedding call. */
  threads: number;
}

/** Progress of a model download, as the log reports it. */
export interface LoadProgress {
  file: string;
  /** 0 to 100. */
  percent: number;
  loadedBytes: number;
  totalBytes: number;
}

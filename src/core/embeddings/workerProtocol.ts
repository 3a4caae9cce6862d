import type { EmbedderInfo, EmbeddingModelOptions, LoadProgress } from './embedder';

/** Messages from the gateway to the embedding worker. */
export type ToEmbeddingWorker =
  | { type: 'load'; options: EmbeddingModelOptions }
  | { type: 'embed'; id: number; texts: string[] }
  /** Finish what is running, release the model's sessions, and exit. */
  | { type: 'close' };

/** Messages from the embedding worker to the gateway. */
export type FromEmbeddingWorker =
  | { type: 'progress'; progress: LoadProgress }
  | { type: 'ready'; info: EmbedderInfo }
  | { type: 'failed'; reason: string }
  /** `vectors` holds the fitting texts' vectors back to back; `fits[i]` says whether text i got one. */
  | { type: 'embedded'; id: number; vectors: Float32Array; fits: boolean[] }
  | { type: 'error'; id: number; message: string };

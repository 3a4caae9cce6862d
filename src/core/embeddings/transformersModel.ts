import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { EmbedderInfo, EmbeddingModelOptions, LoadProgress } from './embedder';

export interface LoadedModel {
  info: EmbedderInfo;
  embed(texts: string[]): Promise<Array<Float32Array | undefined>>;
  /** Releases the ONNX sessions. */
  dispose(): Promise<void>;
}

/** True when the model setting names a local directory rather than a hub id. */
export function isLocalModel(model: string): boolean {
  const path = resolve(model);
  return existsSync(join(path, 'config.json')) && statSync(path).isDirectory();
}

/**
 * Loads a sentence-embedding model with @huggingface/transformers (feature
 * extraction, mean pooling, normalized). Blocking work: call it off the main thread.
 */
export async function loadTransformersModel(
  options: EmbeddingModelOptions,
  onProgress: (progress: LoadProgress) => void,
): Promise<LoadedModel> {
  const transformers = await import('@huggingface/transformers');
  const { env, pipeline } = transformers;
  let modelId = options.model;
  if (isLocalModel(options.model)) {
    const path = resolve(options.model);
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    // The file cache is consulted before the local directory: it must not shadow these files.
    env.useFSCache = false;
    env.localModelPath = `${dirname(path)}/`;
    modelId = basename(path);
  } else if (/^[./~]|\\/.test(options.model) || options.model.startsWith('/')) {
    throw new Error(`the embedding model directory ${resolve(options.model)} does not exist or holds no config.json`);
  } else {
    env.allowLocalModels = false;
    env.allowRemoteModels = options.allowDownload;
    if (options.cacheDir) env.cacheDir = options.cacheDir;
  }

  let extractor;
  try {
    extractor = await pipeline('feature-extraction', modelId, {
      dtype: options.dtype,
      session_options: { intraOpNumThreads: options.threads, interOpNumThreads: 1 },
      progress_callback: (event: { status?: string; file?: string; progress?: number; loaded?: number; total?: number }) => {
        if (event.status === 'progress' && event.file) {
          onProgress({ file: event.file, percent: event.progress ?? 0, loadedBytes: event.loaded ?? 0, totalBytes: event.total ?? 0 });
        }
      },
    });
  } catch (error) {
    const detail = (error as Error).message ?? String(error);
    const hint =
      options.allowDownload || isLocalModel(options.model) ? '' : ' (downloads are off: point --embedding-model at a local directory)';
    throw new Error(`the embedding model "${options.model}" could not be loaded: ${detail}${hint}`);
  }

  const config = extractor.model.config as unknown as { hidden_size?: number; max_position_embeddings?: number };
  const tokenizer = extractor.tokenizer;
  const maxTokens = Math.min(tokenizer.model_max_length ?? Infinity, config.max_position_embeddings ?? Infinity, 8192);
  const probe = await extractor('probe', { pooling: 'mean', normalize: true });
  const dimension = probe.dims[probe.dims.length - 1] ?? config.hidden_size ?? 0;
  if (!dimension) throw new Error(`the embedding model "${options.model}" produced no vector`);

  return {
    info: { model: options.model, dimension, maxTokens },
    async embed(texts) {
      // A text longer than the model's window would be truncated, and two questions that
      // differ only past the cut would look identical: such texts get no vector.
      const fits = texts.map((text) => (tokenizer(text).input_ids.dims.at(-1) ?? Infinity) <= maxTokens);
      const kept = texts.filter((_, i) => fits[i]);
      const vectors: Array<Float32Array | undefined> = texts.map(() => undefined);
      if (kept.length === 0) return vectors;
      const output = await extractor(kept, { pooling: 'mean', normalize: true });
      const data = output.data as Float32Array;
      let row = 0;
      for (let i = 0; i < texts.length; i++) {
        if (!fits[i]) continue;
        vectors[i] = data.slice(row * dimension, (row + 1) * dimension);
        row++;
      }
      return vectors;
    },
    dispose: () => extractor.dispose(),
  };
}

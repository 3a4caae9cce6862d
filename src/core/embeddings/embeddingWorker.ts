/**
 * The embedding worker: loads the model and runs it off the gateway's event
 * loop (ONNX Runtime's Node binding computes synchronously on the calling thread).
 */
import { parentPort } from 'node:worker_threads';
import { loadTransformersModel, type LoadedModel } from './transformersModel';
import type { FromEmbeddingWorker, ToEmbeddingWorker } from './workerProtocol';

const maybePort = parentPort;
if (!maybePort) throw new Error('embeddingWorker must run in a worker thread');
const port = maybePort;

let model: LoadedModel | undefined;
/** Embeddings under way: a close waits for them, since tearing a thread down inside ONNX Runtime can abort the process. */
const running = new Set<Promise<unknown>>();
const post = (message: FromEmbeddingWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', (message: ToEmbeddingWorker) => {
  if (message.type === 'load') {
    loadTransformersModel(message.options, (progress) => post({ type: 'progress', progress })).then(
      (loaded) => {
        model = loaded;
        post({ type: 'ready', info: loaded.info });
      },
      (error: Error) => post({ type: 'failed', reason: error.message }),
    );
    return;
  }
  if (message.type === 'close') {
    void close();
    return;
  }
  const { id, texts } = message;
  if (!model) {
    post({ type: 'error', id, message: 'the embedding model is not loaded' });
    return;
  }
  const work = model.embed(texts).then(
    (vectors) => {
      const kept = vectors.filter((vector): vector is Float32Array => vector !== undefined);
      const flat = new Float32Array(kept.reduce((sum, vector) => sum + vector.length, 0));
      let offset = 0;
      for (const vector of kept) {
        flat.set(vector, offset);
        offset += vector.length;
      }
      post({ type: 'embedded', id, vectors: flat, fits: vectors.map((vector) => vector !== undefined) }, [flat.buffer]);
    },
    (error: Error) => post({ type: 'error', id, message: error.message }),
  );
  running.add(work);
  void work.finally(() => running.delete(work));
});

/** Lets the embeddings under way finish, releases the sessions, and lets the thread end by itself. */
async function close(): Promise<void> {
  await Promise.allSettled([...running]);
  await model?.dispose().catch(() => {});
  model = undefined;
  port.close();
}

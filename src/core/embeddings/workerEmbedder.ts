import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Embedder, EmbedderInfo, EmbeddingModelOptions, LoadProgress } from './embedder';
import type { FromEmbeddingWorker, ToEmbeddingWorker } from './workerProtocol';

/** How long a loaded worker is given to finish its embeddings and end by itself on close. */
const CLOSE_GRACE_MS = 5_000;

interface Pending {
  resolve(vectors: Array<Float32Array | undefined>): void;
  reject(error: Error): void;
}

/** The worker script: bundled beside this file in dist/, or the TypeScript source under tsx (tests). */
function workerScript(): { file: string; execArgv: string[] } {
  const bundled = join(__dirname, 'embeddingWorker.js');
  if (existsSync(bundled)) return { file: bundled, execArgv: [] };
  return { file: join(__dirname, 'embeddingWorker.ts'), execArgv: ['--require', require.resolve('tsx/cjs')] };
}

/**
 * An Embedder whose model lives in a worker thread, so that loading a model
 * (seconds) and embedding a prompt (milliseconds of synchronous ONNX Runtime work)
 * never stall the gateway's event loop.
 */
export class WorkerEmbedder implements Embedder {
  private worker: Worker | undefined;
  private loading: Promise<EmbedderInfo> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dimension = 0;

  constructor(
    private readonly options: EmbeddingModelOptions,
    private readonly onProgress: (progress: LoadProgress) => void = () => {},
    /** How long loading may go without any progress before it is abandoned. */
    private readonly stallMs = 120_000,
  ) {}

  load(): Promise<EmbedderInfo> {
    this.loading ??= new Promise<EmbedderInfo>((resolve, reject) => {
      const script = workerScript();
      const worker = new Worker(script.file, { execArgv: script.execArgv });
      this.worker = worker;
      let ready = false;
      // A download can stall forever (a dropped connection, a proxy): give up after a silent stretch.
      let watchdog: NodeJS.Timeout | undefined;
      const watch = () => {
        if (watchdog) clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          reject(new Error(`loading the model made no progress for ${Math.round(this.stallMs / 1000)} s`));
          void worker.terminate();
        }, this.stallMs);
        watchdog.unref();
      };
      watch();
      worker.on('message', (message: FromEmbeddingWorker) => {
        switch (message.type) {
          case 'progress':
            watch();
            this.onProgress(message.progress);
            return;
          case 'ready':
            ready = true;
            if (watchdog) clearTimeout(watchdog);
            this.dimension = message.info.dimension;
            resolve(message.info);
            return;
          case 'failed':
            if (watchdog) clearTimeout(watchdog);
            reject(new Error(message.reason));
            void worker.terminate();
            return;
          case 'embedded':
            this.settle(message.id, (pending) => pending.resolve(this.unpack(message.vectors, message.fits)));
            return;
          case 'error':
            this.settle(message.id, (pending) => pending.reject(new Error(message.message)));
            return;
          default: {
            const unknown: never = message;
            throw new Error(`unknown message from the embedding worker: ${JSON.stringify(unknown)}`);
          }
        }
      });
      const fail = (error: Error) => {
        if (watchdog) clearTimeout(watchdog);
        if (!ready) reject(error);
        for (const pending of this.pending.values()) pending.reject(error);
        this.pending.clear();
        this.worker = undefined;
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`the embedding worker exited (code ${code})`)));
      worker.postMessage({ type: 'load', options: this.options } satisfies ToEmbeddingWorker);
    });
    return this.loading;
  }

  async embed(texts: string[]): Promise<Array<Float32Array | undefined>> {
    await this.load();
    const worker = this.worker;
    if (!worker) throw new Error('the embedding worker is not running');
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ type: 'embed', id, texts } satisfies ToEmbeddingWorker);
    });
  }

  /**
   * Stops the worker. A loaded one is asked to finish what it is embedding and release the
   * model, and ends by itself: terminating a thread inside ONNX Runtime's native code can
   * abort the whole process (seen as a gateway that exited with SIGABRT on a clean stop). A
   * load still under way (a slow download) must not hold up shutdown, and is terminated, as
   * is a worker that has not ended within `CLOSE_GRACE_MS`.
   */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    // Not loaded yet (the dimension comes with 'ready').
    if (this.dimension === 0) {
      await worker.terminate();
      return;
    }
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToEmbeddingWorker);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)));
    const outcome = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') await worker.terminate();
  }

  private settle(id: number, action: (pending: Pending) => void): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    action(pending);
  }

  private unpack(flat: Float32Array, fits: boolean[]): Array<Float32Array | undefined> {
    let offset = 0;
    return fits.map((fit) => {
      if (!fit) return undefined;
      const vector = flat.subarray(offset, offset + this.dimension);
      offset += this.dimension;
      return vector;
    });
  }
}

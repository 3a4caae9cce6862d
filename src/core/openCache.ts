import { mkdir, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { acquireLock, type DataDirLock } from './dataDirLock';
import type { Embedder, LoadProgress } from './embeddings/embedder';
import { isLocalModel } from './embeddings/transformersModel';
import { WorkerEmbedder } from './embeddings/workerEmbedder';
import { EntryCatalog } from './catalog/entryCatalog';
import { DEFAULT_EVENT_LOG, EventLog } from './events/eventLog';
import { LlmCache } from './llmCache';
import type { Logger } from './logger';
import type { GatewayOptions } from './options';
import { SemanticCache } from './semantic/semanticCache';
import type { ExactStore } from './stores/exactStore';
import { HotExactStore } from './stores/hotExactStore';
import { MemoryExactStore } from './stores/memoryExactStore';
import { MemoryVectorStore } from './stores/memoryVectorStore';
import { SqliteExactStore } from './stores/sqliteExactStore';
import { SqliteVectorStore } from './stores/sqliteVectorStore';
import type { VectorStore } from './stores/vectorStore';
import { VectraVectorStore } from './stores/vectraVectorStore';

/** The file name of the SQLite database inside the data directory. */
export const DATABASE_FILE = 'cache.sqlite';
/** Memory for recently used entries in front of SQLite. */
const HOT_TIER_BYTES = 64 * 1024 * 1024;

/** Creates the data directory owner-only when Deja makes it; an existing one is left as the user set it. */
async function ensureDataDir(dir: string): Promise<void> {
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new Error(`the data path ${dir} exists and is not a directory`);
  if (!existing) await mkdir(dir, { recursive: true, mode: 0o700 });
}

async function openStore(options: GatewayOptions, logger: Logger): Promise<ExactStore> {
  if (options.dataDir === null) return new MemoryExactStore();
  const sqlite = await SqliteExactStore.open({
    file: join(options.dataDir, DATABASE_FILE),
    onError: (error) => logger.warn('cache database error', { error }),
  });
  return new HotExactStore(sqlite, HOT_TIER_BYTES);
}

/** Logs a model download at every tenth of each file, not at every chunk; local files are only read, not logged. */
function progressLogger(logger: Logger, local: boolean): (progress: LoadProgress) => void {
  const lastStep = new Map<string, number>();
  return (progress) => {
    if (local) return;
    const step = Math.floor(progress.percent / 10);
    if (lastStep.get(progress.file) === step) return;
    lastStep.set(progress.file, step);
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    logger.info(`downloading ${progress.file}: ${Math.floor(progress.percent)}% (${mb(progress.loadedBytes)} of ${mb(progress.totalBytes)} MB)`);
  };
}

function createSemanticCache(options: GatewayOptions, exact: ExactStore, logger: Logger, injected?: Embedder): SemanticCache | undefined {
  if (!options.semantic) return undefined;
  const dataDir = options.dataDir;
  const local = isLocalModel(options.embeddingModel);
  const model = local ? resolve(options.embeddingModel) : options.embeddingModel;
  const embedder = injected ?? new WorkerEmbedder(
    {
      model,
      dtype: options.embeddingDtype,
      cacheDir: dataDir ? join(dataDir, 'models') : null,
      allowDownload: options.embeddingDownload,
      // One thread leaves the other core to the gateway on a 2-core laptop.
      threads: Math.max(1, Math.min(4, cpus().length - 1)),
    },
    progressLogger(logger, local),
  );
  const openStore = async (): Promise<VectorStore> => {
    if (dataDir === null) return new MemoryVectorStore();
    if (options.vectorStore === 'vectra') return VectraVectorStore.open(join(dataDir, 'vectra'));
    return SqliteVectorStore.open(join(dataDir, DATABASE_FILE));
  };
  return new SemanticCache({
    embedder,
    openStore,
    exact,
    logger,
    model,
    space: `${model}#${options.embeddingDtype}`,
    threshold: options.semanticThreshold,
  });
}

export interface OpenedCache {
  cache: LlmCache;
  /** Every request's outcome, for the metrics and the dashboard. */
  events: EventLog;
  /** Records where the gateway listens in the data directory's lock. */
  lock: DataDirLock | undefined;
  /** Closes the stores and the model, and releases the data directory. */
  close(): Promise<void>;
}

/**
 * Opens everything the cache needs from its options: the data directory (locked
 * for this process), the exact store, and the semantic level with its model and
 * vector store. Used by the gateway and by `deja reindex`.
 */
export async function openCache(options: GatewayOptions, logger: Logger, embedder?: Embedder): Promise<OpenedCache> {
  let lock: DataDirLock | undefined;
  if (options.dataDir !== null) {
    await ensureDataDir(options.dataDir);
    lock = await acquireLock(options.dataDir);
  }
  const file = options.dataDir === null ? null : join(options.dataDir, DATABASE_FILE);
  let store: ExactStore;
  let catalog: EntryCatalog;
  let events: EventLog;
  try {
    store = await openStore(options, logger);
    catalog = await EntryCatalog.open(file);
    events = await EventLog.open({ ...DEFAULT_EVENT_LOG, file, retentionDays: options.eventsRetentionDays });
  } catch (error) {
    await lock?.release();
    throw error;
  }
  const cache = new LlmCache({ exact: store, catalog, semantic: createSemanticCache(options, store, logger, embedder), logger });
  // The catalog is an index over the store: bring it in line after a crash, in the background.
  void cache
    .reconcileCatalog()
    .then((fixed) => fixed > 0 && logger.info('entry list repaired', { rows: fixed }))
    .catch((error: unknown) => logger.warn('entry list repair failed', { error }));
  return {
    cache,
    events,
    lock,
    async close() {
      await cache.close();
      await events.close();
      await lock?.release();
    },
  };
}

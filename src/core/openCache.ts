import { mkdir, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { acquireLock, type DataDirLock } from './dataDirLock';
import type { Embedder, LoadProgress } from './embeddings/embedder';
import { isLocalModel } from './embeddings/transformersModel';
import { localModelFingerprint } from './embeddings/modelFingerprint';
import { WorkerEmbedder } from './embeddings/workerEmbedder';
import { EntryCatalog } from './catalog/entryCatalog';
import { DEFAULT_EVENT_LOG, EventLog } from './events/eventLog';
import { LlmCache } from './llmCache';
import type { Logger } from './logger';
import type { GatewayOptions } from './options';
import { SemanticCache, type SemanticCacheDeps } from './semantic/semanticCache';
import { TeamTier } from './team/teamTier';
import { putMessage } from './team/teamStream';
import type { ExactStore } from './stores/exactStore';
import { HotExactStore } from './stores/hotExactStore';
import { MemoryExactStore } from './stores/memoryExactStore';
import { MemoryVectorStore } from './stores/memoryVectorStore';
import { ObservationStore } from './stores/observationStore';
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
    logger.info(
      `downloading ${progress.file}: ${Math.floor(progress.percent)}% (${mb(progress.loadedBytes)} of ${mb(progress.totalBytes)} MB)`,
    );
  };
}

type TeamSemanticDeps = Pick<SemanticCacheDeps, 'elsewhere' | 'onEmbedded' | 'onObserved'>;

/** The model path (resolved, when local) the semantic level embeds with. */
function embeddingModelOf(options: Pick<GatewayOptions, 'embeddingModel'>): string {
  return isLocalModel(options.embeddingModel) ? resolve(options.embeddingModel) : options.embeddingModel;
}

/**
 * Names the vector space: vectors from another model or precision cannot be compared.
 * A hub model is named by its id; a local one by its files, wherever it sits on disk.
 */
export function semanticSpace(options: Pick<GatewayOptions, 'embeddingModel' | 'embeddingDtype'>): string {
  const model = embeddingModelOf(options);
  const fingerprint = isLocalModel(model) ? localModelFingerprint(model, options.embeddingDtype) : undefined;
  return `${fingerprint ?? model}#${options.embeddingDtype}`;
}

function createSemanticCache(
  options: GatewayOptions,
  exact: ExactStore,
  observations: ObservationStore,
  logger: Logger,
  injected?: Embedder,
  team: (space: string) => TeamSemanticDeps = () => ({}),
): SemanticCache | undefined {
  if (!options.semantic) return undefined;
  // Read once, and only with the semantic level on: a local model's fingerprint reads its files.
  const space = semanticSpace(options);
  const dataDir = options.dataDir;
  const local = isLocalModel(options.embeddingModel);
  const model = embeddingModelOf(options);
  const embedder =
    injected ??
    new WorkerEmbedder(
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
    space,
    threshold: options.semanticThreshold,
    mode: options.semanticMode,
    maxFalseHitRate: options.maxFalseHitRate,
    floor: options.semanticFloor,
    observations,
    ...team(space),
  });
}

export interface OpenedCache {
  cache: LlmCache;
  /** The team tier, when `sharedStore` (`--shared-store`) names one; the gateway starts it following the team's stream. */
  team: TeamTier | undefined;
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
  let observations: ObservationStore;
  let teamTier: TeamTier | undefined;
  try {
    store = await openStore(options, logger);
    if (options.sharedStore) {
      teamTier = await TeamTier.open(
        {
          url: options.sharedStore,
          team: options.team,
          retentionMs: options.sharedRetentionSeconds * 1000,
          databaseFile: file,
          offsetFile: options.dataDir === null ? null : join(options.dataDir, `team-${options.team}.position`),
          logger,
        },
        store,
      );
      store = teamTier.store;
    }
    catalog = await EntryCatalog.open(file);
    events = await EventLog.open({ ...DEFAULT_EVENT_LOG, file, retentionDays: options.eventsRetentionDays });
    observations = await ObservationStore.open(options.semantic ? file : null);
  } catch (error) {
    await teamTier?.close().catch(() => {});
    await lock?.release();
    throw error;
  }
  const team = teamTier;
  const semantic = createSemanticCache(
    options,
    store,
    observations,
    logger,
    embedder,
    team &&
      ((space) => ({
        elsewhere: () => team.teamIds(),
        // A vector embedded late (the backlog) is shared too: the others need not embed it again.
        onEmbedded: (entry, partition, stored) => team.publish(putMessage(entry, partition, space, stored)),
        // What one gateway learns about an entry, every gateway of the team learns.
        onObserved: (observation) => team.publish({ op: 'obs', ...observation }),
      })),
  );
  const cache = new LlmCache({ exact: store, catalog, semantic, team, logger });
  // The catalog is an index over the store: bring it in line after a crash, in the background.
  void cache
    .reconcileCatalog()
    .then((fixed) => fixed > 0 && logger.info('entry list repaired', { rows: fixed }))
    .catch((error: unknown) => logger.warn('entry list repair failed', { error }));
  return {
    cache,
    team,
    events,
    lock,
    async close() {
      // The stream stops first: nothing from the team lands while the levels close.
      await team?.close().catch((error: unknown) => logger.warn('closing the team tier failed', { error }));
      await cache.close();
      await events.close();
      await lock?.release();
    },
  };
}

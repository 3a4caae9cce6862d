import { cosineOfUnit, type Embedder, type EmbedderInfo } from '../embeddings/embedder';
import type { Logger } from '../logger';
import type { ExactStore } from '../stores/exactStore';
import type { ObservationStore, StoredObservation } from '../stores/observationStore';
import { ObservationBook, type RecordedObservation } from './decision/observationBook';
import {
  DEFAULT_VERIFIED,
  StaticDecision,
  VerifiedDecision,
  type Decision,
  type GroupLearning,
  type SemanticDecision,
  type SemanticMode,
} from './decision/semanticDecision';
import type { StoredVector, VectorStore } from '../stores/vectorStore';
import { WriteBehind } from '../stores/writeBehind';
import type { SemanticStatusDto } from '../../shared/protocol';
import type { CacheEntry, Endpoint } from '../types';
import { semanticQueryOfEntry, type SemanticQuery } from './semanticQuery';
import { VectorIndex, type SearchResult } from './vectorIndex';

/** What `/health` and the dashboard show about the semantic level: its shape is the protocol's. */
export type SemanticStatus = SemanticStatusDto;
export type SemanticState = SemanticStatus['state'];

/** A semantic lookup's outcome. */
export interface SemanticLookup {
  /** The question's vector, kept to index the answer once it is stored. */
  vector: Float32Array;
  /** The nearest stored question in the same partition, if any. */
  nearest: SearchResult | undefined;
}

export interface SemanticCacheDeps {
  embedder: Embedder;
  /** Opens the vector store once the model's dimension is known. */
  openStore: () => Promise<VectorStore>;
  exact: ExactStore;
  logger: Logger;
  model: string;
  /** Identifies the vector space: vectors from another model or precision are dropped. */
  space: string;
  threshold: number;
  /** How a semantic hit is decided: verified (a bound on wrong answers, learned) or static (the threshold, the default here). */
  mode?: SemanticMode;
  /** Verified: the chance of a wrong answer a served semantic hit may carry, at most (δ); 0.02 by default. */
  maxFalseHitRate?: number;
  /** Verified: below this similarity the nearest question is a plain miss. */
  floor?: number;
  /** Where observations persist; without one they live as long as the process. */
  observations?: ObservationStore;
  /** Told of each observation made here, to share it with the team. */
  onObserved?: (observation: StoredObservation) => void;
  /** Ids stored elsewhere whose vectors are kept (the team's entries): not orphans for the start-up repair. */
  elsewhere?: () => Promise<ReadonlySet<string>>;
  /** Told of each vector this gateway embedded for a stored entry after the fact (the backlog), to share it. */
  onEmbedded?: (entry: CacheEntry, partition: string, stored: StoredVector) => void;
}

/** A vector another gateway shared: int8 codes and scale, from the space it names. */
export interface TeamVector {
  id: string;
  partition: string;
  space: string;
  vector?: { codes: Int8Array; scale: number };
}

/** The bound on wrong served semantic hits when none is given. */
export const DEFAULT_MAX_FALSE_HIT_RATE = 0.02;

/** Team vectors held while the model loads are capped: past this, the oldest are dropped (a re-sync brings them back). */
const MAX_PENDING_TEAM = 2_000_000;

/** Writes are gathered for this long (or this many) into one transaction. */
const FLUSH_DELAY_MS = 50;
const FLUSH_BATCH = 512;
const BACKFILL_BATCH = 16;

interface VectorBatch {
  store: VectorStore;
  puts: StoredVector[];
  removals: string[];
}

/**
 * The semantic level: embeds the question, searches its partition, and keeps the
 * vector index consistent with the exact store. It loads lazily (the first
 * cacheable request starts it) and never fails a request: until it is ready, or
 * when the model cannot load, lookups are skipped and the exact level carries on.
 */
export class SemanticCache {
  private state: SemanticState = 'idle';
  private reason: string | undefined;
  private info: EmbedderInfo | undefined;
  private index: VectorIndex | undefined;
  private store: VectorStore | undefined;
  private starting: Promise<void> | undefined;
  private readonly puts = new Map<string, StoredVector>();
  private readonly removals = new Set<string>();
  private readonly writes = new WriteBehind<VectorBatch>({
    delayMs: FLUSH_DELAY_MS,
    full: () => this.puts.size + this.removals.size >= FLUSH_BATCH,
    take: () => this.takePending(),
    write: (batch) => this.write(batch),
    onError: (error, batch) => {
      // The index in memory is still right; the next start-up repair re-embeds what is missing.
      this.deps.logger.warn('writing vectors failed', { error, vectors: batch.puts.length });
    },
  });
  /** Stored entries that have no vector yet. */
  private readonly backlog = new Set<string>();
  private backfilling = false;
  private closed = false;
  /** Team vectors that arrived before the index was ready. */
  private pendingTeam = new Map<string, TeamVector>();
  /** Team entries from another vector space: embedded here, like the backlog, fetched through the exact store. */
  private readonly teamToEmbed = new Set<string>();

  /** What explorations and revalidations observed, per entry and per group. */
  private readonly book = new ObservationBook();
  private readonly decision: SemanticDecision;

  constructor(private readonly deps: SemanticCacheDeps) {
    this.decision =
      deps.mode === 'verified'
        ? new VerifiedDecision(this.book, {
            ...DEFAULT_VERIFIED,
            floor: deps.floor ?? DEFAULT_VERIFIED.floor,
            maxFalseHitRate: this.maxFalseHitRate,
          })
        : new StaticDecision(deps.threshold);
  }

  get threshold(): number {
    return this.deps.threshold;
  }

  get mode(): SemanticMode {
    return this.deps.mode ?? 'static';
  }

  get maxFalseHitRate(): number {
    return this.deps.maxFalseHitRate ?? DEFAULT_MAX_FALSE_HIT_RATE;
  }

  /** Entries of one vector space and endpoint learn together: their similarities mean the same. */
  private groupOf(endpoint: Endpoint): string {
    return `${this.deps.space}|${endpoint}`;
  }

  /**
   * What to do with the nearest stored question: serve its answer, explore (forward and
   * learn), or treat the request as a miss. A threshold given with the request decides as
   * the static mode does, for that request.
   */
  decide(candidate: { entryId: string; similarity: number; endpoint: Endpoint }, threshold?: number): Decision {
    const decision = threshold === undefined ? this.decision : new StaticDecision(threshold);
    return decision.decide({ entryId: candidate.entryId, similarity: candidate.similarity, group: this.groupOf(candidate.endpoint) });
  }

  /**
   * Records what an exploration or a revalidation found: a question at `similarity` to an
   * entry, and whether the entry's answer was right for it. `fromTeam` marks one a teammate's
   * gateway made: it is learned from, not told again.
   */
  observe(entryId: string, endpoint: Endpoint, observation: RecordedObservation, fromTeam = false): void {
    const group = this.groupOf(endpoint);
    this.book.add(entryId, group, observation);
    const stored = { entryId, group, ...observation };
    this.deps.observations?.add(stored);
    if (!fromTeam) this.deps.onObserved?.(stored);
  }

  /** A teammate's observation, in a group named by its vector space: learned only when the space is this gateway's. */
  observeTeam(observation: StoredObservation): void {
    const [space, endpoint] = splitGroup(observation.group);
    if (space !== this.deps.space || !endpoint) return;
    this.observe(
      observation.entryId,
      endpoint,
      { similarity: observation.similarity, correct: observation.correct, at: observation.at },
      true,
    );
  }

  /** An entry's observations, oldest first, and the similarity from which it is served (verified, once learned). */
  learned(entryId: string, endpoint: Endpoint): { observations: readonly RecordedObservation[]; threshold: number | undefined } {
    return { observations: this.book.of(entryId), threshold: this.decision.threshold(entryId, this.groupOf(endpoint)) };
  }

  /** Verified: what each endpoint's entries have learned in this vector space (none in static mode). */
  learnedGroups(): Array<{ endpoint: Exclude<Endpoint, 'embeddings'> } & GroupLearning> {
    const decision = this.decision;
    if (!(decision instanceof VerifiedDecision)) return [];
    return this.book.groupNames().flatMap((group) => {
      const [space, endpoint] = splitGroup(group);
      if (space !== this.deps.space || !endpoint) return [];
      const { observations, wrong, threshold, fewest } = decision.learning(group);
      return [{ endpoint, observations, wrong, threshold, fewest }];
    });
  }

  /** The vector space this gateway's vectors belong to (`model#dtype`). */
  get space(): string {
    return this.deps.space;
  }

  status(): SemanticStatus {
    return {
      state: this.state,
      model: this.deps.model,
      reason: this.reason,
      dimension: this.info?.dimension,
      entries: this.index?.size,
      backlog: this.state === 'ready' ? this.backlog.size : undefined,
      threshold: this.deps.threshold,
      mode: this.mode,
      maxFalseHitRate: this.maxFalseHitRate,
    };
  }

  /** Starts loading the model and the index in the background; idempotent. Resolves when ready or failed. */
  start(): Promise<void> {
    this.starting ??= this.load();
    return this.starting;
  }

  private async load(): Promise<void> {
    this.state = 'loading';
    const began = Date.now();
    this.deps.logger.info('loading the embedding model', { model: this.deps.model });
    try {
      this.info = await this.deps.embedder.load();
      const store = await this.deps.openStore();
      this.store = store;
      const space = { model: this.deps.space, dimension: this.info.dimension };
      const stored = await store.space();
      if (!stored || stored.model !== space.model || stored.dimension !== space.dimension) {
        if (stored)
          this.deps.logger.info('the embedding model changed: stored vectors dropped and rebuilt', { was: stored.model, now: space.model });
        await store.reset(space);
      }
      let index = new VectorIndex(this.info.dimension);
      try {
        index.load(await store.loadAll());
      } catch (error) {
        // A damaged index is not fatal: drop it, and the repair below re-embeds every entry.
        this.deps.logger.warn(`the vector index could not be read and is rebuilt: ${(error as Error).message}`);
        await store.reset(space);
        index = new VectorIndex(this.info.dimension);
      }
      this.index = index;
      for (const { entryId, group, similarity, correct, at } of (await this.deps.observations?.loadAll()) ?? [])
        this.book.add(entryId, group, { similarity, correct, at });
      if (index.takeUnsavedCentre() || store.needsCompaction()) await store.compact(index.export(), index.centre);
      await this.repair();
      if (this.closed) return;
      this.state = 'ready';
      const pending = [...this.pendingTeam.values()];
      this.pendingTeam.clear();
      if (pending.length) this.adoptTeam(pending);
      this.deps.logger.info('semantic cache ready', {
        model: this.deps.model,
        dimension: this.info.dimension,
        vectors: index.size,
        ms: Date.now() - began,
      });
      void this.backfill();
    } catch (error) {
      this.state = 'failed';
      this.reason = (error as Error).message;
      this.deps.logger.warn(`semantic cache disabled: ${this.reason}`);
    }
  }

  /** Start-up repair: drop vectors whose entry is gone, queue entries that have no vector. */
  private async repair(): Promise<void> {
    const index = this.index!;
    const ids = await this.deps.exact.ids();
    const elsewhere = (await this.deps.elsewhere?.().catch(() => undefined)) ?? new Set<string>();
    const orphans = [...index.ids()].filter((id) => !ids.has(id) && !elsewhere.has(id));
    for (const id of orphans) index.remove(id);
    if (orphans.length) {
      await this.store!.write([], orphans);
      this.deps.logger.info('removed vectors whose entry is gone', { count: orphans.length });
    }
    for (const id of ids) if (!index.has(id)) this.backlog.add(id);
  }

  /**
   * Embeds the question and finds its nearest neighbour in the partition. Undefined
   * when the level is not ready, or the question cannot be embedded faithfully.
   */
  async lookup(query: SemanticQuery): Promise<SemanticLookup | undefined> {
    if (this.state !== 'ready') {
      if (this.state === 'idle') void this.start();
      return undefined;
    }
    let vector: Float32Array | undefined;
    try {
      [vector] = await this.deps.embedder.embed([query.text]);
    } catch (error) {
      this.deps.logger.warn('embedding failed; semantic lookup skipped', { error });
      return undefined;
    }
    if (!vector || !this.index) return undefined;
    const [nearest] = this.index.search(query.partition, vector, 1);
    return { vector, nearest };
  }

  /** Unit vectors for texts, or undefined when the model is not ready or cannot embed one of them whole. */
  async embedTexts(texts: string[]): Promise<Float32Array[] | undefined> {
    if (this.state !== 'ready') return undefined;
    const vectors = await this.deps.embedder.embed(texts).catch(() => undefined);
    return vectors?.every((vector) => vector !== undefined) ? (vectors as Float32Array[]) : undefined;
  }

  /** Cosine similarity of two texts' embeddings, when the model is ready and both fit it. */
  async textSimilarity(a: string, b: string): Promise<number | undefined> {
    const vectors = await this.embedTexts([a, b]);
    if (!vectors) return undefined;
    const [va, vb] = vectors as [Float32Array, Float32Array];
    return cosineOfUnit(va, vb);
  }

  /**
   * Indexes a stored entry and returns its vector as stored. Without a vector (the
   * model was not ready), it waits in the backlog and nothing is returned.
   */
  remember(id: string, partition: string, vector: Float32Array | undefined): StoredVector | undefined {
    if (!this.index || !vector) {
      this.backlog.add(id);
      if (this.state === 'ready') void this.backfill();
      return undefined;
    }
    const stored = this.index.add(id, partition, vector);
    this.removals.delete(id);
    this.puts.set(id, stored);
    this.backlog.delete(id);
    this.scheduleFlush();
    return stored;
  }

  /**
   * Indexes entries other gateways stored. A vector from this gateway's own space is
   * taken as it is (no embedding); an entry from another model is embedded here;
   * one announced without its vector waits for the message that carries it.
   * Before the model is ready they are held, and loading starts.
   */
  adoptTeam(items: readonly TeamVector[]): void {
    if (this.state !== 'ready' || !this.index) {
      for (const item of items) {
        this.pendingTeam.delete(item.id);
        this.pendingTeam.set(item.id, item);
      }
      while (this.pendingTeam.size > MAX_PENDING_TEAM) this.pendingTeam.delete(this.pendingTeam.keys().next().value!);
      if (this.state === 'idle') void this.start();
      return;
    }
    const dimension = this.index.dimension;
    for (const item of items) {
      if (item.space === this.deps.space) {
        const codes = item.vector?.codes;
        if (!codes || codes.length !== dimension) continue;
        const vector = new Float32Array(dimension);
        for (let i = 0; i < dimension; i++) vector[i] = codes[i]! * item.vector!.scale;
        this.remember(item.id, item.partition, vector);
      } else if (!this.index.has(item.id)) {
        this.teamToEmbed.add(item.id);
      }
    }
    if (this.teamToEmbed.size) {
      for (const id of this.teamToEmbed) this.backlog.add(id);
      this.teamToEmbed.clear();
      void this.backfill();
    }
  }

  /** Removes the vectors of entries that were evicted or expired. */
  forget(ids: Iterable<string>): void {
    const list = [...ids];
    this.book.forget(list);
    this.deps.observations?.remove(list);
    for (const id of list) {
      this.backlog.delete(id);
      this.pendingTeam.delete(id);
      this.puts.delete(id);
      this.index?.remove(id);
      if (this.store) this.removals.add(id);
    }
    this.scheduleFlush();
  }

  /** Drops a vector that points at an entry that no longer answers its partition. */
  dropStale(id: string): void {
    this.forget([id]);
  }

  async clear(): Promise<void> {
    this.book.clear();
    await this.deps.observations?.clear();
    this.puts.clear();
    this.removals.clear();
    this.backlog.clear();
    this.pendingTeam.clear();
    this.index?.clear();
    await this.writes.flush();
    if (this.store && this.info) await this.store.reset({ model: this.deps.space, dimension: this.info.dimension });
  }

  /** Re-embeds every stored entry: the index is rebuilt from the exact store. */
  async reindex(onProgress: (done: number, total: number) => void = () => {}): Promise<number> {
    await this.start();
    if (this.state !== 'ready') throw new Error(`the semantic cache is ${this.state}: ${this.reason ?? ''}`);
    await this.clear();
    const ids = [...(await this.deps.exact.ids())];
    let done = 0;
    for (let i = 0; i < ids.length; i += BACKFILL_BATCH) {
      await this.embedEntries(ids.slice(i, i + BACKFILL_BATCH));
      done = Math.min(ids.length, i + BACKFILL_BATCH);
      onProgress(done, ids.length);
    }
    await this.flush();
    return this.index!.size;
  }

  /** Embeds the backlog in small batches, in the background. */
  private async backfill(): Promise<void> {
    if (this.backfilling || this.state !== 'ready') return;
    this.backfilling = true;
    try {
      while (this.backlog.size > 0 && !this.closed) {
        const batch = [...this.backlog].slice(0, BACKFILL_BATCH);
        for (const id of batch) this.backlog.delete(id);
        await this.embedEntries(batch);
      }
    } catch (error) {
      this.deps.logger.warn('indexing stored entries failed', { error });
    } finally {
      this.backfilling = false;
    }
  }

  private async embedEntries(ids: string[]): Promise<void> {
    const entries: Array<{ entry: CacheEntry; query: SemanticQuery }> = [];
    for (const id of ids) {
      const entry = await this.deps.exact.get(id).catch(() => undefined);
      const query = entry && semanticQueryOfEntry(entry);
      if (entry && query) entries.push({ entry, query });
    }
    if (entries.length === 0) return;
    const vectors = await this.deps.embedder.embed(entries.map(({ query }) => query.text));
    entries.forEach(({ entry, query }, i) => {
      const vector = vectors[i];
      const stored = vector && this.remember(entry.id, query.partition, vector);
      if (stored) this.deps.onEmbedded?.(entry, query.partition, stored);
    });
  }

  private scheduleFlush(): void {
    if (this.store) this.writes.schedule();
  }

  /** Writes pending vector changes in one batch; resolves when they are on disk (or their write failed). */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  private takePending(): VectorBatch | undefined {
    const store = this.store;
    if (!store || (this.puts.size === 0 && this.removals.size === 0)) return undefined;
    const batch: VectorBatch = { store, puts: [...this.puts.values()], removals: [...this.removals] };
    this.puts.clear();
    this.removals.clear();
    return batch;
  }

  private async write({ store, puts, removals }: VectorBatch): Promise<void> {
    await store.write(puts, removals);
    // The log of batches is rewritten from the live set once it grows long or mostly dead,
    // and once the centre freezes, so that every stored vector carries its sign bits.
    const index = this.index;
    if (index && (index.takeUnsavedCentre() || store.needsCompaction())) await store.compact(index.export(), index.centre);
  }

  async close(): Promise<void> {
    this.closed = true;
    // Stop the model first: a load still in progress (a slow download) must not hold up shutdown.
    await this.deps.embedder.close().catch(() => {});
    await this.starting?.catch(() => {});
    await this.flush();
    await this.store?.close().catch(() => {});
    await this.deps.observations?.close().catch(() => {});
  }
}

/** A group's name split back into its vector space and endpoint. */
function splitGroup(group: string): [string, Exclude<Endpoint, 'embeddings'> | undefined] {
  const at = group.lastIndexOf('|');
  const endpoint = group.slice(at + 1);
  return [group.slice(0, at), endpoint === 'chat.completions' || endpoint === 'completions' ? endpoint : undefined];
}

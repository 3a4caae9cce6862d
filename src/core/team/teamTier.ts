import { randomUUID } from 'node:crypto';
import type { EntryCatalog } from '../catalog/entryCatalog';
import type { Logger } from '../logger';
import type { SemanticCache, TeamVector } from '../semantic/semanticCache';
import { RedisExactStore } from '../stores/redisExactStore';
import { TieredExactStore } from '../stores/tieredExactStore';
import type { ExactStore } from '../stores/exactStore';
import type { TeamTierStatusDto } from '../../shared/protocol';
import type { CacheEntry } from '../types';
import { RedisConnection } from './redisConnection';
import { TeamRegistry } from './teamRegistry';
import { TeamStream, type ReceivedMessage, type TeamMessage } from './teamStream';

export interface TeamTierOptions {
  url: string;
  team: string;
  /** How long the stream keeps messages. */
  retentionMs: number;
  /** The SQLite file for the registry of indexed team entries; null keeps it in memory. */
  databaseFile: string | null;
  /** Where the stream position is kept; null keeps it in memory. */
  offsetFile: string | null;
  logger: Logger;
}

/** The team tier as `/health` and the dashboard show it: its shape is the protocol's. */
export type TeamTierStatus = TeamTierStatusDto;

/** What the cache levels need to find out about and tell the team. */
export interface TeamHooks {
  /** 'team' when this entry object was just read from the team tier. */
  tierOf(entry: CacheEntry): 'team' | 'local';
  /** Tells the other gateways; never waits, never fails the caller. */
  publish(message: TeamMessage): void;
  /** Drops the vectors of team entries that expired; returns their ids. */
  sweepExpired(now?: number): Promise<string[]>;
}

/**
 * The team tier: Redis holds every gateway's exact entries (through keyv), and a
 * Redis stream tells every gateway what the others stored or evicted, so each
 * keeps its own semantic index of the team's questions. A Redis that is away only
 * ever means "local only for now": requests go on, and sharing resumes with it.
 */
export class TeamTier implements TeamHooks {
  readonly origin = randomUUID();
  readonly connection: RedisConnection;
  readonly store: TieredExactStore;
  private readonly stream: TeamStream;
  private semantic: SemanticCache | undefined;
  private catalog: EntryCatalog | undefined;
  private onChange: (reason: 'stored' | 'evicted' | 'cleared') => void = () => {};
  private indexedCount: number | null = null;

  private constructor(
    private readonly options: TeamTierOptions,
    local: ExactStore,
    readonly registry: TeamRegistry,
  ) {
    this.connection = new RedisConnection(options.url, options.logger);
    const team = new RedisExactStore(this.connection.commands as never, options.team, (error) =>
      options.logger.debug('team cache store error', { error }),
    );
    this.store = new TieredExactStore({ local, team, teamUp: () => this.connection.connected, logger: options.logger });
    this.stream = new TeamStream({
      connection: this.connection,
      team: options.team,
      origin: this.origin,
      retentionMs: options.retentionMs,
      offsetFile: options.offsetFile,
      logger: options.logger,
    });
  }

  /** Opens the registry and connects; an unreachable Redis leaves the tier down and retrying, not the gateway stopped. */
  static async open(options: TeamTierOptions, local: ExactStore): Promise<TeamTier> {
    const registry = await TeamRegistry.open(options.databaseFile);
    const tier = new TeamTier(options, local, registry);
    await tier.connection.connect();
    return tier;
  }

  /** Wires the levels the stream updates, and starts following it. */
  follow(levels: {
    semantic: SemanticCache | undefined;
    catalog: EntryCatalog | undefined;
    onChange: (reason: 'stored' | 'evicted' | 'cleared') => void;
  }): void {
    this.semantic = levels.semantic;
    this.catalog = levels.catalog;
    this.onChange = levels.onChange;
    void this.stream.follow((messages) => this.apply(messages));
  }

  /** Ids whose vectors this gateway keeps for the team: not orphans at start-up. */
  async teamIds(): Promise<ReadonlySet<string>> {
    const ids = await this.registry.ids();
    this.indexedCount = ids.size;
    return ids;
  }

  tierOf(entry: CacheEntry): 'team' | 'local' {
    return this.store.cameFromTeam(entry) ? 'team' : 'local';
  }

  publish(message: TeamMessage): void {
    if (!this.connection.connected) return;
    this.stream.publish(message).catch((error: unknown) => this.options.logger.debug('telling the team failed', { op: message.op, error }));
  }

  /** Applies other gateways' messages, in order. */
  private async apply(messages: ReceivedMessage[]): Promise<void> {
    const now = Date.now();
    let vectors: TeamVector[] = [];
    const flushVectors = () => {
      if (vectors.length) this.semantic?.adoptTeam(vectors);
      vectors = [];
    };
    let stored = false;
    for (const { message } of messages) {
      if (message.op === 'put') {
        if (message.expiresAt <= now || !this.semantic) continue;
        this.registry.add(message.id, message.expiresAt);
        vectors.push({ id: message.id, partition: message.partition, space: message.space, vector: message.vector });
        stored = true;
      } else if (message.op === 'obs') {
        this.semantic?.observeTeam({
          entryId: message.entryId,
          group: message.group,
          similarity: message.similarity,
          correct: message.correct,
          at: message.at,
        });
      } else if (message.op === 'del') {
        flushVectors();
        this.semantic?.forget(message.ids);
        this.catalog?.remove(message.ids);
        this.registry.remove(message.ids);
        for (const id of message.ids) await this.store.deleteLocal(id).catch(() => false);
        this.onChange('evicted');
      } else {
        flushVectors();
        await this.store
          .clearLocal()
          .catch((error: unknown) => this.options.logger.warn('clearing the local cache for the team failed', { error }));
        await this.semantic?.clear();
        await this.catalog?.clear();
        await this.registry.clear();
        this.onChange('cleared');
      }
    }
    flushVectors();
    if (stored) this.onChange('stored');
    this.indexedCount = null;
  }

  /** Drops the vectors of team entries that expired; returns their ids. */
  async sweepExpired(now = Date.now()): Promise<string[]> {
    const expired = await this.registry.sweepExpired(now);
    if (expired.length) this.semantic?.forget(expired);
    return expired;
  }

  status(): TeamTierStatus {
    return {
      ...this.connection.current,
      team: this.options.team,
      applied: this.stream.applied,
      lastAppliedAt: this.stream.lastAppliedAt,
      indexed: this.indexedCount,
      lag: this.stream.lag(),
    };
  }

  async close(): Promise<void> {
    await this.stream.stop();
    await this.connection.close();
    await this.registry.close();
  }
}

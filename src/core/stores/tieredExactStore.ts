import type { Logger } from '../logger';
import type { CacheEntry } from '../types';
import type { ExactStore } from './exactStore';

/** How long a read from the team tier may take before the request goes on without it. */
const TEAM_READ_TIMEOUT_MS = 250;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the team cache did not answer within ${ms} ms`)), ms);
    }),
  ]);
}

export interface TieredExactStoreOptions {
  local: ExactStore;
  team: ExactStore;
  /** Whether the team tier is reachable now; when not, it is not even tried. */
  teamUp: () => boolean;
  logger: Logger;
}

/**
 * The local store as a fast first level, the team's shared store second. A local
 * miss asks the team tier, and what it finds is copied to the local store so the
 * next hit is local. Writes and evictions go to both. The team tier can only
 * ever make a request slower by its short timeout, never fail it: its errors are
 * logged and the answer comes from (or goes to) the local store alone.
 */
export class TieredExactStore implements ExactStore {
  /** Entries the last reads brought from the team tier (the metrics count their hits apart). */
  private readonly fromTeam = new WeakSet<CacheEntry>();

  constructor(private readonly options: TieredExactStoreOptions) {}

  /** Whether this entry object was read from the team tier. */
  cameFromTeam(entry: CacheEntry): boolean {
    return this.fromTeam.has(entry);
  }

  async get(id: string): Promise<CacheEntry | undefined> {
    const local = await this.options.local.get(id);
    if (local || !this.options.teamUp()) return local;
    let team: CacheEntry | undefined;
    try {
      team = await withTimeout(this.options.team.get(id), TEAM_READ_TIMEOUT_MS);
    } catch (error) {
      this.options.logger.debug('team cache read failed; treated as a miss', { entry: id, error });
      return undefined;
    }
    if (!team) return undefined;
    this.fromTeam.add(team);
    // Kept locally (a copy: only this object is marked as the team's), without making this answer wait.
    const copy = structuredClone(team);
    this.options.local
      .set(copy)
      .catch((error: unknown) => this.options.logger.warn('copying a team entry locally failed', { entry: id, error }));
    return team;
  }

  /** The local write is the one that counts; the team gets its copy in the background. */
  async set(entry: CacheEntry): Promise<void> {
    await this.options.local.set(entry);
    if (!this.options.teamUp()) return;
    this.options.team
      .set(entry)
      .catch((error: unknown) => this.options.logger.debug('team cache write failed', { entry: entry.id, error }));
  }

  /** Only the local copy; the caller decides whether an eviction also reaches the team. */
  async deleteLocal(id: string): Promise<boolean> {
    return this.options.local.delete(id);
  }

  async delete(id: string): Promise<boolean> {
    const local = await this.options.local.delete(id);
    if (!this.options.teamUp()) return local;
    const team = await this.options.team.delete(id).catch((error: unknown) => {
      this.options.logger.warn('evicting from the team cache failed', { entry: id, error });
      return false;
    });
    return local || team;
  }

  async clearLocal(): Promise<void> {
    await this.options.local.clear();
  }

  async clear(): Promise<void> {
    await this.options.local.clear();
    if (!this.options.teamUp()) {
      this.options.logger.warn("the team cache is not connected: only this machine's entries were cleared");
      return;
    }
    await this.options.team.clear();
  }

  ids(): Promise<ReadonlySet<string>> {
    return this.options.local.ids();
  }

  sweepExpired(now: number): Promise<string[]> {
    return this.options.local.sweepExpired(now);
  }

  async close(): Promise<void> {
    await this.options.local.close();
    await this.options.team.close();
  }
}

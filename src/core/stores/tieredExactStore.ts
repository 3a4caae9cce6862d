import type { Logger } from '../logger';
import type { CacheEntry } from '../types';
import type { ExactStore } from './exactStore';

/** How long a read from the shared tier may take before the request goes on without it. */
const SHARED_READ_TIMEOUT_MS = 250;

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
  shared: ExactStore;
  /** Whether the shared tier is reachable now; when not, it is not even tried. */
  sharedUp: () => boolean;
  logger: Logger;
}

/**
 * The local store as a fast first level, the team's shared store second. A local
 * miss asks the shared tier, and what it finds is copied to the local store so the
 * next hit is local. Writes and evictions go to both. The shared tier can only
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
    if (local || !this.options.sharedUp()) return local;
    let shared: CacheEntry | undefined;
    try {
      shared = await withTimeout(this.options.shared.get(id), SHARED_READ_TIMEOUT_MS);
    } catch (error) {
      this.options.logger.debug('team cache read failed; treated as a miss', { entry: id, error });
      return undefined;
    }
    if (!shared) return undefined;
    this.fromTeam.add(shared);
    // Kept locally (a copy: only this object is marked as the team's), without making this answer wait.
    const copy = structuredClone(shared);
    this.options.local.set(copy).catch((error: unknown) => this.options.logger.warn('copying a team entry locally failed', { entry: id, error }));
    return shared;
  }

  /** The local write is the one that counts; the team gets its copy in the background. */
  async set(entry: CacheEntry): Promise<void> {
    await this.options.local.set(entry);
    if (!this.options.sharedUp()) return;
    this.options.shared.set(entry).catch((error: unknown) => this.options.logger.debug('team cache write failed', { entry: entry.id, error }));
  }

  /** Only the local copy; the caller decides whether an eviction also reaches the team. */
  async deleteLocal(id: string): Promise<boolean> {
    return this.options.local.delete(id);
  }

  async delete(id: string): Promise<boolean> {
    const local = await this.options.local.delete(id);
    if (!this.options.sharedUp()) return local;
    const shared = await this.options.shared.delete(id).catch((error: unknown) => {
      this.options.logger.warn('evicting from the team cache failed', { entry: id, error });
      return false;
    });
    return local || shared;
  }

  async clearLocal(): Promise<void> {
    await this.options.local.clear();
  }

  async clear(): Promise<void> {
    await this.options.local.clear();
    if (!this.options.sharedUp()) {
      this.options.logger.warn('the team cache is not connected: only this machine\'s entries were cleared');
      return;
    }
    await this.options.shared.clear();
  }

  ids(): Promise<ReadonlySet<string>> {
    return this.options.local.ids();
  }

  sweepExpired(now: number): Promise<string[]> {
    return this.options.local.sweepExpired(now);
  }

  async close(): Promise<void> {
    await this.options.local.close();
    await this.options.shared.close();
  }
}

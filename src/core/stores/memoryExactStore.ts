import type { CacheEntry } from '../types';
import type { ExactStore } from './exactStore';

/** An ExactStore in a Map: for unit tests and for running without a data directory. */
export class MemoryExactStore implements ExactStore {
  private readonly entries = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(id: string): Promise<CacheEntry | undefined> {
    const raw = this.entries.get(id);
    if (raw === undefined) return undefined;
    const entry = JSON.parse(raw) as CacheEntry;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return entry;
  }

  async set(entry: CacheEntry): Promise<void> {
    // Stored serialized, as a real store would: callers cannot mutate what is stored.
    this.entries.set(entry.id, JSON.stringify(entry));
  }

  async delete(id: string): Promise<boolean> {
    return this.entries.delete(id);
  }

  async clear(): Promise<void> {
    this.entries.clear();
  }

  async ids(): Promise<ReadonlySet<string>> {
    return new Set(this.entries.keys());
  }

  async sweepExpired(now: number): Promise<string[]> {
    const expired: string[] = [];
    for (const [id, raw] of this.entries) {
      if ((JSON.parse(raw) as CacheEntry).expiresAt <= now) expired.push(id);
    }
    for (const id of expired) this.entries.delete(id);
    return expired;
  }

  async close(): Promise<void> {}
}

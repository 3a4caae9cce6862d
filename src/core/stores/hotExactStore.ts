import type { CacheEntry } from '../types';
import type { ExactStore } from './exactStore';

interface HotItem {
  entry: CacheEntry;
  bytes: number;
}

/**
 * A bounded in-memory first level over a persistent ExactStore: recent entries
 * are answered without a database round trip or a JSON parse. Writes, deletes
 * and expiry go through to the store underneath; the memory copy follows.
 * Returned entries are shared objects: callers must not mutate them.
 */
export class HotExactStore implements ExactStore {
  /** Map order is recency order: the first key is the least recently used. */
  private readonly items = new Map<string, HotItem>();
  private bytes = 0;

  constructor(
    private readonly inner: ExactStore,
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Entries and bytes held in memory. */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.items.size, bytes: this.bytes };
  }

  async get(id: string): Promise<CacheEntry | undefined> {
    const item = this.items.get(id);
    if (item) {
      if (item.entry.expiresAt <= this.now()) {
        this.forget(id);
        return undefined;
      }
      this.items.delete(id);
      this.items.set(id, item);
      return item.entry;
    }
    const entry = await this.inner.get(id);
    if (entry) this.remember(entry, estimateBytes(entry));
    return entry;
  }

  async set(entry: CacheEntry): Promise<void> {
    // Visible at once: the next request may arrive before the write below commits.
    this.remember(entry, estimateBytes(entry));
    try {
      await this.inner.set(entry);
    } catch (error) {
      this.forget(entry.id);
      throw error;
    }
  }

  async delete(id: string): Promise<boolean> {
    this.forget(id);
    return this.inner.delete(id);
  }

  async clear(): Promise<void> {
    this.items.clear();
    this.bytes = 0;
    await this.inner.clear();
  }

  ids(): Promise<ReadonlySet<string>> {
    return this.inner.ids();
  }

  async sweepExpired(now: number): Promise<string[]> {
    for (const [id, item] of this.items) if (item.entry.expiresAt <= now) this.forget(id);
    return this.inner.sweepExpired(now);
  }

  async close(): Promise<void> {
    this.items.clear();
    this.bytes = 0;
    await this.inner.close();
  }

  private remember(entry: CacheEntry, bytes: number): void {
    this.forget(entry.id);
    if (bytes > this.maxBytes / 4) return; // one huge answer must not flush everything else
    this.items.set(entry.id, { entry, bytes });
    this.bytes += bytes;
    for (const [id] of this.items) {
      if (this.bytes <= this.maxBytes) break;
      this.forget(id);
    }
  }

  private forget(id: string): void {
    const item = this.items.get(id);
    if (!item) return;
    this.items.delete(id);
    this.bytes -= item.bytes;
  }
}

/** Rough in-memory size: UTF-16 text of the request and response, plus object overhead. */
function estimateBytes(entry: CacheEntry): number {
  return 2 * (JSON.stringify(entry.request).length + JSON.stringify(entry.response).length) + 512;
}

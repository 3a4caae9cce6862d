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
  /** Writes in progress, by id: the latest one, settled when it is done (stored or not). */
  private readonly writing = new Map<string, { done: Promise<void> }>();

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
    // An entry being written is read once the write is done: never the version it replaces.
    const writing = this.writing.get(id);
    if (writing) await writing.done;
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
    // Served from memory only once the store underneath has it: a HIT then means the entry
    // survives a crash. A request that arrives during the write joins the exchange that
    // produced the answer (it stays in flight until stored), so nothing is asked twice.
    // Until then, a read of this id waits for the write (a few milliseconds), so that it
    // gets the new answer, not the one it replaces.
    const written = this.inner.set(entry);
    const write = {
      done: written.then(
        () => {},
        () => {},
      ),
    };
    this.writing.set(entry.id, write);
    let stored = false;
    try {
      await written;
      stored = true;
    } finally {
      // A delete or clear meanwhile wins: the entry is not brought back into memory.
      if (this.writing.get(entry.id) === write) {
        this.writing.delete(entry.id);
        if (stored) this.remember(entry, estimateBytes(entry));
        else this.forget(entry.id);
      }
    }
  }

  async delete(id: string): Promise<boolean> {
    this.writing.delete(id);
    this.forget(id);
    return this.inner.delete(id);
  }

  async clear(): Promise<void> {
    this.writing.clear();
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

/**
 * Rough in-memory size of an entry: its request and response as parsed objects, plus the
 * serialized answer kept for replay. Measured under `npm run stress`, parsed JSON takes about
 * four times its text's length in V8's heap (many small objects and their hidden classes);
 * counting it at twice let a 64 MB tier hold about 125 MB.
 */
function estimateBytes(entry: CacheEntry): number {
  return 4 * (JSON.stringify(entry.request).length + JSON.stringify(entry.response).length) + 1024;
}

import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import type { RedisClientType } from '@redis/client';
import type { CacheEntry } from '../types';
import type { ExactStore } from './exactStore';

/**
 * The team's exact entries in Redis: keyv over @keyv/redis, under a namespace per
 * team (`deja:<team>:entry::<id>`), with Redis' own expiry carrying the absolute TTL.
 * Redis is the shared truth: `ids()` and the expiry sweep are local concerns and
 * have nothing to do here.
 */
export class RedisExactStore implements ExactStore {
  private readonly keyv: Keyv<CacheEntry>;

  constructor(client: RedisClientType, team: string, onError: (error: unknown) => void = () => {}) {
    const adapter = new KeyvRedis(client, { throwOnErrors: true, throwOnConnectError: true });
    this.keyv = new Keyv<CacheEntry>({
      store: adapter,
      namespace: `deja:${team}:entry`,
      // The adapter prefixes keys with the namespace itself; keyv's own prefix would double it.
      useKeyPrefix: false,
      throwOnErrors: true,
      serialize: JSON.stringify,
      deserialize: (raw: string) => JSON.parse(raw),
    });
    this.keyv.on('error', onError);
    adapter.on('error', onError);
  }

  async get(id: string): Promise<CacheEntry | undefined> {
    const entry = await this.keyv.get(id);
    if (entry === undefined || entry === null) return undefined;
    // Anything in Redis is data from elsewhere: only a well-formed entry for this very id is believed.
    if (typeof entry !== 'object' || entry.version !== 1 || entry.id !== id || typeof entry.expiresAt !== 'number') return undefined;
    return entry.expiresAt > Date.now() ? entry : undefined;
  }

  async set(entry: CacheEntry): Promise<void> {
    const ttl = entry.expiresAt - Date.now();
    if (ttl <= 0) return;
    await this.keyv.set(entry.id, entry, ttl);
  }

  async delete(id: string): Promise<boolean> {
    return this.keyv.delete(id);
  }

  /** Deletes the team's entries (and only them: the scan matches this namespace). */
  async clear(): Promise<void> {
    await this.keyv.clear();
  }

  async ids(): Promise<ReadonlySet<string>> {
    return new Set();
  }

  async sweepExpired(): Promise<string[]> {
    return [];
  }

  async close(): Promise<void> {
    // The connection belongs to the team tier, which closes it.
  }
}

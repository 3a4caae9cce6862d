import type { CacheEntry } from '../types';

/**
 * Where exact entries live. Implementations keep absolute expiry: an entry past
 * `expiresAt` is never returned, and a read does not extend it.
 */
export interface ExactStore {
  get(id: string): Promise<CacheEntry | undefined>;
  /** Stores or replaces the entry until its `expiresAt`. */
  set(entry: CacheEntry): Promise<void>;
  delete(id: string): Promise<boolean>;
  clear(): Promise<void>;
  /** Ids of every stored entry (expired ones not yet swept included). */
  ids(): Promise<ReadonlySet<string>>;
  /** Removes expired entries; returns their ids. */
  sweepExpired(now: number): Promise<string[]>;
  close(): Promise<void>;
}

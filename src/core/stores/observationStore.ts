import type sqlite3 from 'sqlite3';
import type { RecordedObservation } from '../semantic/decision/observationBook';
import { allSql, jsonColumns, openSqlite, runSql } from './sqliteConnection';
import { WriteBehind } from './writeBehind';

/** An observation as persisted: the entry it is about and the group whose observations it pools with. */
export interface StoredObservation extends RecordedObservation {
  entryId: string;
  group: string;
}

const FLUSH_DELAY_MS = 100;
/** At start, at most this many observations per entry are read back (the latest; the book keeps no more). */
const PER_ENTRY = 64;

interface ObservationBatch {
  added: StoredObservation[];
  removed: string[];
}

/**
 * What explorations and revalidations observed, persisted with the entries in the cache's
 * database, so a restart keeps what was learned; evicting an entry deletes its observations.
 * Writes are batched; with no file, nothing is kept.
 */
export class ObservationStore {
  private readonly pending: StoredObservation[] = [];
  private readonly removals = new Set<string>();
  private readonly writes = new WriteBehind<ObservationBatch>({
    delayMs: FLUSH_DELAY_MS,
    take: () => this.takePending(),
    write: (batch) => this.write(batch),
    onError: () => {
      // Observations are what was learned, not what was stored: losing a batch costs some learning, never an answer.
    },
  });

  private constructor(private readonly db: sqlite3.Database | undefined) {}

  static async open(file: string | null): Promise<ObservationStore> {
    if (!file) return new ObservationStore(undefined);
    const db = await openSqlite(file);
    const store = new ObservationStore(db);
    await store.run('PRAGMA journal_mode=WAL');
    await store.run('PRAGMA synchronous=NORMAL');
    await store.run(
      'CREATE TABLE IF NOT EXISTS semantic_observations (entry_id TEXT NOT NULL, grp TEXT NOT NULL, similarity REAL NOT NULL, correct INTEGER NOT NULL, at INTEGER NOT NULL)',
    );
    await store.run('CREATE INDEX IF NOT EXISTS semantic_observations_entry ON semantic_observations (entry_id, at)');
    return store;
  }

  private run(sql: string, ...params: unknown[]): Promise<void> {
    return runSql(this.db!, sql, params);
  }

  /** Every entry's latest observations, oldest first. */
  async loadAll(): Promise<StoredObservation[]> {
    if (!this.db) return [];
    const rows = await allSql<{ entry_id: string; grp: string; similarity: number; correct: number; at: number }>(
      this.db,
      `SELECT entry_id, grp, similarity, correct, at FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY entry_id ORDER BY at DESC) AS n FROM semantic_observations) WHERE n <= ? ORDER BY at`,
      [PER_ENTRY],
    );
    return rows.map((row) => ({
      entryId: row.entry_id,
      group: row.grp,
      similarity: row.similarity,
      correct: row.correct === 1,
      at: row.at,
    }));
  }

  add(observation: StoredObservation): void {
    if (!this.db) return;
    this.pending.push(observation);
    this.writes.schedule();
  }

  remove(ids: Iterable<string>): void {
    if (!this.db) return;
    for (const id of ids) this.removals.add(id);
    this.writes.schedule();
  }

  async clear(): Promise<void> {
    this.pending.length = 0;
    this.removals.clear();
    if (!this.db) return;
    await this.writes.flush();
    await this.run('DELETE FROM semantic_observations');
  }

  /** Writes pending changes in one statement each; resolves when they are on disk (or their write failed). */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  private takePending(): ObservationBatch | undefined {
    if (!this.db || (this.pending.length === 0 && this.removals.size === 0)) return undefined;
    const batch: ObservationBatch = { added: this.pending.splice(0), removed: [...this.removals] };
    this.removals.clear();
    return batch;
  }

  private async write({ added, removed }: ObservationBatch): Promise<void> {
    // Removals first: an entry evicted after its observation was made takes that observation with it.
    if (removed.length)
      await this.run('DELETE FROM semantic_observations WHERE entry_id IN (SELECT value FROM json_each(?))', JSON.stringify(removed));
    const kept = added.filter((observation) => !removed.includes(observation.entryId));
    if (kept.length) {
      await this.run(
        `INSERT INTO semantic_observations (entry_id, grp, similarity, correct, at) SELECT ${jsonColumns(5)} FROM json_each(?)`,
        JSON.stringify(kept.map((o) => [o.entryId, o.group, o.similarity, o.correct ? 1 : 0, o.at])),
      );
    }
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.db) await new Promise<void>((resolve) => this.db!.close(() => resolve()));
  }
}

/**
 * What explorations have taught: for each stored entry, the questions that found it at some
 * similarity and whether its answer was right for them, and the curve fitted to them; for
 * each group of entries that share an embedding model and an endpoint, the pooled curve that
 * an entry starts from while it has few observations of its own.
 */
import { fitLogistic, UNINFORMED, widened, type Gaussian2, type Observation } from './logisticFit';

/** One observation as kept: when it was made, besides what it says. */
export interface RecordedObservation extends Observation {
  at: number;
}

/**
 * How far one entry's curve may sit from its group's, a priori, in the fit's units (logits at
 * similarity 0.85, and logits per 0.1 of similarity): entries differ (a question with close
 * near-misses needs a higher similarity), and an entry's own observations say how.
 */
export const ENTRY_SPREAD = { a: 1, b: 0.5 };

/** An entry keeps at most this many observations, the latest. */
const MAX_PER_ENTRY = 64;
/** The pooled curve is fitted again once its group gained this share of new observations (or 8, whichever is more). */
const REFIT_SHARE = 0.05;

interface EntryBook {
  group: string;
  observations: RecordedObservation[];
  fit: Gaussian2 | undefined;
  /** The pooled fit's version this entry's fit was made against. */
  pooledVersion: number;
}

interface GroupBook {
  count: number;
  fitted: Gaussian2;
  fittedAt: number;
  version: number;
}

export class ObservationBook {
  private readonly entries = new Map<string, EntryBook>();
  private readonly groups = new Map<string, GroupBook>();

  /** Adds an observation of an entry in a group. */
  add(entryId: string, group: string, observation: RecordedObservation): void {
    let entry = this.entries.get(entryId);
    if (!entry) {
      entry = { group, observations: [], fit: undefined, pooledVersion: -1 };
      this.entries.set(entryId, entry);
    }
    entry.observations.push(observation);
    if (entry.observations.length > MAX_PER_ENTRY) entry.observations.shift();
    else this.groupOf(group).count++;
    entry.fit = undefined;
  }

  /** Drops the observations of entries that were evicted or expired. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      this.entries.delete(id);
      const group = this.groups.get(entry.group);
      if (group) group.count -= entry.observations.length;
    }
  }

  clear(): void {
    this.entries.clear();
    this.groups.clear();
  }

  /** An entry's observations, oldest first. */
  of(entryId: string): readonly RecordedObservation[] {
    return this.entries.get(entryId)?.observations ?? [];
  }

  get size(): number {
    return this.entries.size;
  }

  /** The curve for an entry: its own observations, starting from its group's pooled curve. */
  fitFor(entryId: string, group: string): Gaussian2 {
    const pooled = this.pooled(group);
    const entry = this.entries.get(entryId);
    if (!entry || entry.observations.length === 0) return widened(pooled.fitted, ENTRY_SPREAD);
    if (!entry.fit || entry.pooledVersion !== pooled.version) {
      entry.fit = fitLogistic(entry.observations, widened(pooled.fitted, ENTRY_SPREAD));
      entry.pooledVersion = pooled.version;
    }
    return entry.fit;
  }

  /** The pooled curve of a group, fitted again when enough has been learned since. */
  pooled(group: string): GroupBook {
    const book = this.groupOf(group);
    if (book.count !== book.fittedAt && Math.abs(book.count - book.fittedAt) >= Math.max(8, book.fittedAt * REFIT_SHARE)) {
      const observations: Observation[] = [];
      for (const entry of this.entries.values()) if (entry.group === group) observations.push(...entry.observations);
      book.fitted = fitLogistic(observations, UNINFORMED);
      book.fittedAt = book.count;
      book.version++;
    }
    return book;
  }

  private groupOf(group: string): GroupBook {
    let book = this.groups.get(group);
    if (!book) {
      book = { count: 0, fitted: UNINFORMED, fittedAt: 0, version: 0 };
      this.groups.set(group, book);
    }
    return book;
  }
}

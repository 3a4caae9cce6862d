/**
 * What explorations and revalidations have taught: for each stored entry, the questions that
 * found it at some similarity and whether its answer was right for them. Entries that share
 * an embedding model and an endpoint form a group, whose observations pool: together they say
 * from which similarity a stored answer is right often enough.
 */
import { SimilarityHistogram, type Observation } from './tailBound';

/** One observation as kept: when it was made, besides what it says. */
export interface RecordedObservation extends Observation {
  at: number;
}

/** An entry keeps at most this many observations, the latest. */
const MAX_PER_ENTRY = 64;

interface EntryBook {
  group: string;
  observations: RecordedObservation[];
}

interface GroupBook {
  /** Every observation kept across the group's entries, by similarity. */
  histogram: SimilarityHistogram;
  /** Bumped on every change, so what was computed from the group knows when it is stale. */
  version: number;
}

export class ObservationBook {
  private readonly entries = new Map<string, EntryBook>();
  private readonly groups = new Map<string, GroupBook>();

  /** Adds an observation of an entry in a group. */
  add(entryId: string, group: string, observation: RecordedObservation): void {
    let entry = this.entries.get(entryId);
    if (!entry) {
      entry = { group, observations: [] };
      this.entries.set(entryId, entry);
    }
    const book = this.groupOf(entry.group);
    entry.observations.push(observation);
    book.histogram.add(observation);
    if (entry.observations.length > MAX_PER_ENTRY) book.histogram.remove(entry.observations.shift()!);
    book.version++;
  }

  /** Drops the observations of entries that were evicted or expired. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      this.entries.delete(id);
      const book = this.groups.get(entry.group);
      if (!book) continue;
      for (const observation of entry.observations) book.histogram.remove(observation);
      book.version++;
    }
  }

  clear(): void {
    this.entries.clear();
    for (const book of this.groups.values()) {
      book.histogram.clear();
      book.version++;
    }
  }

  /** An entry's observations, oldest first. */
  of(entryId: string): readonly RecordedObservation[] {
    return this.entries.get(entryId)?.observations ?? [];
  }

  /** The highest similarity at which an entry's answer was observed wrong, if ever. */
  highestWrong(entryId: string): number | undefined {
    let highest: number | undefined;
    for (const observation of this.of(entryId))
      if (!observation.correct && (highest === undefined || observation.similarity > highest)) highest = observation.similarity;
    return highest;
  }

  /** A group's observations by similarity, and a version that changes whenever they do (undefined: none ever). */
  group(group: string): { histogram: SimilarityHistogram; version: number } | undefined {
    return this.groups.get(group);
  }

  /** The groups that hold observations. */
  groupNames(): string[] {
    return [...this.groups].filter(([, book]) => book.histogram.count > 0).map(([name]) => name);
  }

  get size(): number {
    return this.entries.size;
  }

  private groupOf(group: string): GroupBook {
    let book = this.groups.get(group);
    if (!book) {
      book = { histogram: new SimilarityHistogram(), version: 0 };
      this.groups.set(group, book);
    }
    return book;
  }
}

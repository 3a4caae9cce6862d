/**
 * Labelled query streams. A stream is a multiset of questions, each with a label; two
 * questions share a label when one's answer is right for the other (the judge of the
 * replay). Orders are seeded shuffles of the same multiset.
 */
import { readFileSync } from 'node:fs';
import { seededRandom } from '../../test/fixtures/seededRandom';
import { fnv1a, permutation, seedOf } from './seeded';

export interface Pair {
  a: string;
  b: string;
  same: boolean;
}

export interface Query {
  text: string;
  label: number;
}

/**
 * A stream ready to replay: its distinct texts (each embedded once) and its queries as
 * (text id, label). The same text may carry different labels in different queries (QQP
 * repeats questions across pairs); only its first arrival is ever stored or judged.
 */
export interface PreparedStream {
  name: string;
  /** What the stream is, for the report. */
  description: string;
  texts: string[];
  queries: Array<{ text: number; label: number }>;
  labels: number;
}

export function readPairs(file: string): Pair[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Pair);
}

export type Labelling = 'merged' | 'per-pair';

/** A question as labels see it: its words, lower-cased, without punctuation. */
export const questionKey = (text: string): string =>
  (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  ).join(' ');

/**
 * Pairs as a stream, as vCache's benchmark builds one from labelled pairs: `a` gets a fresh
 * label, `b` shares it when the pair is a duplicate, else gets its own ('per-pair').
 *
 * Both data sets repeat questions across pairs (GPTCache's "No, it doesn't exist in version
 * 2.10.0." is in six pairs), and per pair the same question then carries several labels,
 * so a hit between two copies of one question is judged wrong. 'merged' (the default) gives
 * one label to questions that are the same up to case and punctuation, and to everything a
 * duplicate pair joins to them, transitively (union-find).
 */
export function queriesFromPairs(pairs: readonly Pair[], labelling: Labelling = 'merged'): Query[] {
  const queries: Query[] = [];
  if (labelling === 'per-pair') {
    let next = 0;
    for (const pair of pairs) {
      const label = next++;
      queries.push({ text: pair.a, label });
      queries.push({ text: pair.b, label: pair.same ? label : next++ });
    }
    return queries;
  }
  const parent = new Map<string, string>();
  const find = (key: string): string => {
    let root = key;
    while (parent.get(root) !== root) root = parent.get(root) ?? (parent.set(root, root), root);
    parent.set(key, root);
    return root;
  };
  for (const pair of pairs) {
    const a = find(questionKey(pair.a));
    const b = find(questionKey(pair.b));
    if (pair.same && a !== b) parent.set(b, a);
  }
  // Labels numbered in order of first appearance.
  const labels = new Map<string, number>();
  const labelOf = (text: string) => {
    const root = find(questionKey(text));
    let label = labels.get(root);
    if (label === undefined) labels.set(root, (label = labels.size));
    return label;
  };
  for (const pair of pairs) queries.push({ text: pair.a, label: labelOf(pair.a) }, { text: pair.b, label: labelOf(pair.b) });
  return queries;
}

/** Non-duplicate pairs whose two questions end up with one label through other pairs (merged labelling only). */
export function contradictions(pairs: readonly Pair[], queries: readonly Query[]): number {
  return pairs.filter((pair, i) => !pair.same && queries[2 * i]!.label === queries[2 * i + 1]!.label).length;
}

export type Split = 'dev' | 'test';

/**
 * A pair's split, from a hash of its text (not its position), so it never changes with the
 * subset taken: a third of the pairs are test, the rest dev. Constants are tuned on dev only.
 */
export function splitOf(pair: Pair): Split {
  return fnv1a(`${pair.a}\u0000${pair.b}`) % 3 === 2 ? 'test' : 'dev';
}

export function prepare(name: string, description: string, queries: readonly Query[]): PreparedStream {
  const ids = new Map<string, number>();
  const texts: string[] = [];
  const prepared: PreparedStream['queries'] = [];
  const labels = new Set<number>();
  for (const query of queries) {
    let id = ids.get(query.text);
    if (id === undefined) {
      id = texts.length;
      ids.set(query.text, id);
      texts.push(query.text);
    }
    prepared.push({ text: id, label: query.label });
    labels.add(query.label);
  }
  return { name, description, texts, queries: prepared, labels: labels.size };
}

/** The orders a stream is replayed in: seeded shuffles of its queries, the same for every embedder and policy. */
export function ordersOf(stream: PreparedStream, count: number, seed: number): number[][] {
  return Array.from({ length: count }, (_, k) =>
    permutation(stream.queries.length, seededRandom(seedOf(`${stream.name}#order${k}`, seed))),
  );
}

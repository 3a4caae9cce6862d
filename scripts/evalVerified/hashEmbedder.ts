/**
 * The evaluation's deterministic embedder: L2-normalised signed feature hashing.
 *
 * Features of a text, lower-cased (NFKC) and split into runs of letters and digits:
 * - each word (weight 1),
 * - each pair of adjacent words (weight 1), so word order counts a little,
 * - each character trigram of each word padded with `#` (weight 0.3 each, about as much in
 *   total as the words), so a typo or an inflection still shares most of a word.
 * Each feature adds ±weight to one of 384 dimensions, both chosen by hashing it (FNV-1a with
 * two bases); the vector is then scaled to unit length. Cosine similarity is then roughly
 * the share of features two texts have in common: paraphrases that share words score high,
 * paraphrases that share none score low, and near-misses that differ in one word (another
 * entity, "install" vs "uninstall") score high. That overlap is what the hard stream needs.
 * Fast (microseconds a text), no model, no randomness.
 */
import type { Embedder, EmbedderInfo } from '../../src/core/embeddings/embedder';
import { fnv1a } from './seeded';

export const HASH_DIMENSION = 384;
const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 1;
const TRIGRAM_WEIGHT = 0.3;
const SIGN_BASIS = 0x9747b28c;

/** The words of a text, as the embedder sees them. */
export function wordsOf(text: string): string[] {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

function addFeature(vector: Float32Array, feature: string, weight: number): void {
  const index = fnv1a(feature) % vector.length;
  const sign = fnv1a(feature, SIGN_BASIS) & 1 ? 1 : -1;
  vector[index]! += sign * weight;
}

export function hashEmbed(text: string, dimension = HASH_DIMENSION): Float32Array {
  const vector = new Float32Array(dimension);
  const words = wordsOf(text);
  // A text without a word still gets a vector (all such texts are alike).
  if (words.length === 0) addFeature(vector, 'e:', 1);
  words.forEach((word, i) => {
    addFeature(vector, `w:${word}`, WORD_WEIGHT);
    if (i > 0) addFeature(vector, `b:${words[i - 1]} ${word}`, BIGRAM_WEIGHT);
    const padded = `#${word}#`;
    for (let c = 0; c + 3 <= padded.length; c++) addFeature(vector, `c:${padded.slice(c, c + 3)}`, TRIGRAM_WEIGHT);
  });
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  // Features can cancel out exactly (opposite signs in one dimension): fall back to the empty vector.
  if (norm === 0) return hashEmbed('', dimension);
  for (let i = 0; i < dimension; i++) vector[i]! /= norm;
  return vector;
}

/** The same function behind the Embedder interface, so the evaluation treats every embedder alike. */
export class HashEmbedder implements Embedder {
  async load(): Promise<EmbedderInfo> {
    return { model: `feature-hashing-${HASH_DIMENSION}`, dimension: HASH_DIMENSION, maxTokens: Number.POSITIVE_INFINITY };
  }
  async embed(texts: string[]): Promise<Array<Float32Array | undefined>> {
    return texts.map((text) => hashEmbed(text));
  }
  async close(): Promise<void> {}
}

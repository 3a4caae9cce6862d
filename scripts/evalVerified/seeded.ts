/**
 * Deterministic randomness for the verified-mode evaluation: every shuffle, draw and
 * sampled revalidation comes from a seed printed with the results, so a run can be
 * repeated exactly.
 */

/** FNV-1a, 32 bits: a stable hash of a string (splits, seeds, feature hashing). */
export function fnv1a(text: string, basis = 0x811c9dc5): number {
  let hash = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A seed derived from a name and the run's base seed, so each stream and order gets its own sequence. */
export const seedOf = (name: string, base: number): number => fnv1a(`${name}#${base}`);

/** A uniformly random permutation of 0..length-1 (Fisher–Yates). */
export function permutation(length: number, random: () => number): number[] {
  const order = Array.from({ length }, (_, i) => i);
  for (let i = length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** One element, uniformly. */
export function pick<T>(items: readonly T[], random: () => number): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(random() * items.length)]!;
}

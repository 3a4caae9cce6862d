/**
 * From which similarity the answers of a group of entries may be served: the lowest
 * similarity t such that, among the observed questions at t or above, the wrong answers are
 * few enough to say, with the chosen confidence, that the chance of a wrong answer there is
 * below δ (an exact one-sided binomial test, Clopper–Pearson's). No curve is assumed, nor
 * even that rightness grows with similarity: a tail that does not pass is simply not served,
 * so an embedder whose similarities mean nothing serves nothing.
 */

/** One observation: a question at `similarity` to an entry, and whether the entry's answer was right for it. */
export interface Observation {
  similarity: number;
  correct: boolean;
}

// Lanczos' approximation (g = 7, n = 9): ln Γ to about 15 digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln of the chance of exactly k wrong among n when each is wrong with chance p. */
function lnBinomialPmf(k: number, n: number, p: number): number {
  return lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

/**
 * P(Bin(n, p) ≤ k), for k at or below the mean (the only side the test needs): summed from k
 * downwards, where the terms shrink at least geometrically, until they stop counting.
 */
export function binomialLowerTail(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let term = Math.exp(lnBinomialPmf(k, n, p));
  let sum = term;
  for (let j = k; j > 0 && term > sum * 1e-16; j--) {
    // pmf(j − 1) / pmf(j) = j (1 − p) / ((n − j + 1) p)
    term *= (j * (1 - p)) / ((n - j + 1) * p);
    sum += term;
  }
  return Math.min(1, sum);
}

/** A tail larger than this is tested as this many observations with the same share wrong, rounded up (see WrongAllowance.passes). */
const LARGEST_TEST = 20_000;

/**
 * How many wrong answers among n observations still show, with the given confidence, that
 * the chance of a wrong answer is below `maxFalseHitRate`: the largest k with
 * P(Bin(n, δ) ≤ k) ≤ 1 − confidence, or −1 when even none would not. Grows by at most one
 * per observation; kept in a table, since every threshold computation asks for it.
 */
export class WrongAllowance {
  private readonly table: number[] = [-1];
  /** The fewest observations that can pass the test at all (every one right). */
  readonly fewest: number;

  constructor(
    readonly maxFalseHitRate: number,
    readonly confidence: number,
  ) {
    if (!(maxFalseHitRate > 0 && maxFalseHitRate < 1)) throw new RangeError(`maxFalseHitRate must be in (0, 1), got ${maxFalseHitRate}`);
    if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
    this.fewest = Math.ceil(Math.log(1 - confidence) / Math.log1p(-maxFalseHitRate));
  }

  /** The largest number of wrong answers among `n` that still passes, −1 when none can. */
  allowed(n: number): number {
    const alpha = 1 - this.confidence;
    for (let m = this.table.length; m <= n; m++) {
      let k = this.table[m - 1]!;
      while (k + 1 < m && binomialLowerTail(k + 1, m, this.maxFalseHitRate) <= alpha) k++;
      this.table.push(k);
    }
    return this.table[n]!;
  }

  /**
   * Whether `wrong` among `n` passes. Past 20,000 observations the tail is tested as 20,000
   * with the same share wrong, rounded up: the test can only be stricter for it, the table
   * stays small, and a tail that large is decided by its share anyway.
   */
  passes(n: number, wrong: number): boolean {
    if (n <= LARGEST_TEST) return wrong <= this.allowed(n);
    return Math.ceil((wrong * LARGEST_TEST) / n) <= this.allowed(LARGEST_TEST);
  }
}

/** A tail is tested only when it holds at least this many times the observations of the last one tested. */
const TAIL_GROWTH = 1.05;

/** Similarities are counted in bins of this width: a threshold is a bin's lower edge. */
export const BINS = 10_000;

/** The bin a similarity falls in (similarities past 1, from int8 rounding, in the last). */
export const binOf = (similarity: number): number => Math.min(BINS - 1, Math.max(0, Math.floor(similarity * BINS)));

/**
 * Observations counted by similarity, so that every tail can be read in one pass from the top
 * and kept up to date in constant time as observations come and go.
 */
export class SimilarityHistogram {
  private readonly total = new Int32Array(BINS);
  private readonly wrongs = new Int32Array(BINS);
  count = 0;
  wrong = 0;

  add(observation: Observation, sign: 1 | -1 = 1): void {
    const bin = binOf(observation.similarity);
    this.total[bin]! += sign;
    this.count += sign;
    if (!observation.correct) {
      this.wrongs[bin]! += sign;
      this.wrong += sign;
    }
  }

  remove(observation: Observation): void {
    this.add(observation, -1);
  }

  clear(): void {
    this.total.fill(0);
    this.wrongs.fill(0);
    this.count = 0;
    this.wrong = 0;
  }

  /**
   * The lowest bin whose tail (every observation in it or above) passes the test, or undefined
   * when none does. A threshold at a bin's edge serves exactly the similarities the tail
   * counted. Taking the lowest of several nested tails tests more than once, so only tails at
   * least 5% larger than the last one tested are tested (a grid set by the counts alone,
   * whatever the answers): on simulated curves the chance that the threshold breaks the bound
   * is then about 2%, against 3 to 7% when every tail is tested (the unit tests measure it).
   * Stopping at the first tail that fails would bound it exactly, but one wrong answer among
   * the first tails large enough to test would then stop serving for good, and more
   * observations would serve less.
   */
  certifiedBin(allowance: WrongAllowance): number | undefined {
    let n = 0;
    let wrong = 0;
    let certified: number | undefined;
    let tested = 0;
    for (let bin = BINS - 1; bin >= 0 && n < this.count; bin--) {
      const here = this.total[bin]!;
      if (here === 0) continue;
      n += here;
      wrong += this.wrongs[bin]!;
      if (n < allowance.fewest || n < tested * TAIL_GROWTH) continue;
      tested = n;
      if (allowance.passes(n, wrong)) certified = bin;
    }
    return certified;
  }
}

/** The lowest similarity whose tail passes the test (a bin's lower edge), or undefined when none does. */
export function certifiedThreshold(observations: readonly Observation[], allowance: WrongAllowance): number | undefined {
  const histogram = new SimilarityHistogram();
  for (const observation of observations) histogram.add(observation);
  const bin = histogram.certifiedBin(allowance);
  return bin === undefined ? undefined : bin / BINS;
}

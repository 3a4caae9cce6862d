import assert from 'node:assert/strict';
import { ObservationBook } from '../../../../../src/core/semantic/decision/observationBook';
import { StaticDecision, VerifiedDecision } from '../../../../../src/core/semantic/decision/semanticDecision';
import {
  binomialLowerTail,
  certifiedThreshold,
  lnGamma,
  WrongAllowance,
  type Observation,
} from '../../../../../src/core/semantic/decision/tailBound';

/** A seeded generator, so every run draws the same observations. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The chance of a wrong answer at similarity s: high near the floor, falling to `top` at 1. */
const wrongChance = (s: number, top: number) => Math.max(top, 0.6 - 2 * (s - 0.7) ** 0.5 * 0.6 + top);

/** Observations with s uniform in [0.7, 1], wrong with chance wrongChance(s, top). */
function drawn(n: number, seed: number, top = 0.002): Observation[] {
  const next = random(seed);
  return Array.from({ length: n }, () => {
    const similarity = 0.7 + 0.3 * next();
    return { similarity, correct: next() >= wrongChance(similarity, top) };
  });
}

/** The true chance of a wrong answer among questions at t or above (s uniform), by the midpoint rule. */
function trueTailRate(t: number, top = 0.002): number {
  const steps = 2000;
  let sum = 0;
  for (let i = 0; i < steps; i++) sum += wrongChance(t + ((i + 0.5) * (1 - t)) / steps, top);
  return sum / steps;
}

describe('the tail bound: from which similarity answers are served', () => {
  it('computes ln Γ and the binomial lower tail exactly enough', () => {
    assert.ok(Math.abs(lnGamma(10) - Math.log(362880)) < 1e-12);
    assert.ok(Math.abs(lnGamma(0.5) - Math.log(Math.sqrt(Math.PI))) < 1e-12);
    // Against the sum of the pmf written out term by term.
    const choose = (n: number, k: number) => Array.from({ length: k }, (_, i) => (n - i) / (i + 1)).reduce((x, y) => x * y, 1);
    for (const [k, n, p] of [
      [0, 20, 0.1],
      [2, 20, 0.1],
      [5, 300, 0.02],
      [1, 149, 0.02],
    ] as const) {
      let direct = 0;
      for (let j = 0; j <= k; j++) direct += choose(n, j) * p ** j * (1 - p) ** (n - j);
      assert.ok(Math.abs(binomialLowerTail(k, n, p) - direct) < 1e-12 * Math.max(1, direct), `${k} ${n} ${p}`);
    }
    assert.equal(binomialLowerTail(-1, 10, 0.1), 0);
    assert.equal(binomialLowerTail(10, 10, 0.1), 1);
  });

  it('allows as many wrong answers as the exact test does: none below 149 at δ = 2%, one from 236', () => {
    const allowance = new WrongAllowance(0.02, 0.95);
    assert.equal(allowance.fewest, 149);
    assert.equal(allowance.allowed(148), -1);
    assert.equal(allowance.allowed(149), 0);
    assert.equal(allowance.allowed(235), 0);
    assert.equal(allowance.allowed(236), 1);
    let previous = -1;
    for (let n = 1; n <= 3000; n++) {
      const k = allowance.allowed(n);
      assert.ok(k === previous || k === previous + 1, `n ${n}`);
      assert.ok(k < 0 || binomialLowerTail(k, n, 0.02) <= 0.05);
      assert.ok(binomialLowerTail(k + 1, n, 0.02) > 0.05);
      previous = k;
    }
    // Past 20,000 observations, the same share wrong as 20,000 would show, rounded up.
    const at20k = allowance.allowed(20_000);
    assert.ok(at20k > 300 && at20k < 400, String(at20k));
    assert.equal(allowance.passes(40_000, 2 * at20k), true);
    assert.equal(allowance.passes(40_000, 2 * at20k + 1), false);
    assert.throws(() => new WrongAllowance(0, 0.95), RangeError);
    assert.throws(() => new WrongAllowance(0.02, 1), RangeError);
  });

  it('serves from the lowest tested tail that holds enough right answers; tails are tested at sizes growing by 5%', () => {
    const allowance = new WrongAllowance(0.05, 0.95);
    assert.equal(allowance.fewest, 59);
    const right = (similarity: number): Observation => ({ similarity, correct: true });
    const sims = Array.from({ length: 100 }, (_, i) => 1 - i * 0.001);
    assert.equal(certifiedThreshold(sims.slice(0, 58).map(right), allowance), undefined);
    // Sizes tested: 59, 62, 66, 70, 74, 78, 82, 87, 92, 97; each passes, the lowest is the 97th similarity's bin.
    assert.equal(certifiedThreshold(sims.map(right), allowance), Math.floor(sims[96]! * 10_000) / 10_000);
    // Observations in one bin count together: a threshold serves every one of them or none.
    const tied = [...sims.slice(0, 57), 0.9, 0.9, 0.9].map(right);
    assert.equal(certifiedThreshold(tied, allowance), 0.9);
  });

  it('takes the lowest tail that passes, past wrong answers among the first ones, when enough right ones follow', () => {
    const allowance = new WrongAllowance(0.05, 0.95);
    const observations: Observation[] = Array.from({ length: 400 }, (_, i) => ({
      similarity: 1 - i * 0.0005,
      correct: i !== 3 && i !== 10,
    }));
    // The first 59 observations hold two wrong answers and fail; the lowest tested tail (within 5% of all 400) passes.
    assert.equal(allowance.allowed(59), 0);
    const all = certifiedThreshold(observations, allowance)!;
    assert.ok(all >= observations[399]!.similarity - 1e-4 && all <= observations[380]!.similarity, String(all));
    // Below them, only wrong answers: the tail takes a few, as many as the bound still allows.
    observations.push(...Array.from({ length: 100 }, (_, i) => ({ similarity: 0.79 - i * 0.001, correct: false })));
    const threshold = certifiedThreshold(observations, allowance)!;
    const tail = observations.filter((observation) => observation.similarity >= threshold);
    assert.ok(threshold < 0.79 && threshold > 0.75, String(threshold));
    assert.ok(allowance.passes(tail.length, tail.filter((observation) => !observation.correct).length));
  });

  it('keeps its promise: over many learned thresholds, the true tail rate exceeds δ in fewer than 4%', () => {
    for (const delta of [0.02, 0.05]) {
      const allowance = new WrongAllowance(delta, 0.95);
      let learned = 0;
      let broken = 0;
      for (let seed = 1; seed <= 200; seed++) {
        const threshold = certifiedThreshold(drawn(3000, seed), allowance);
        if (threshold === undefined) continue;
        learned++;
        if (trueTailRate(threshold) > delta) broken++;
      }
      assert.ok(learned >= 190, `δ ${delta}: learned ${learned}`);
      assert.ok(broken / learned <= 0.04, `δ ${delta}: ${broken} of ${learned} thresholds break the bound`);
    }
  });
});

describe('the semantic decision', () => {
  const group = 'space|chat.completions';
  const verified = (book: ObservationBook, maxFalseHitRate = 0.02) =>
    new VerifiedDecision(book, { maxFalseHitRate, floor: 0.7, confidence: 0.95 });
  const teach = (book: ObservationBook, entries: number, observations: Observation[]) =>
    observations.forEach((observation, i) => book.add(`e${i % entries}`, group, { ...observation, at: i }));

  it('static: a hit at or above the threshold, a plain miss below', () => {
    const decision = new StaticDecision(0.9);
    assert.equal(decision.decide({ entryId: 'x', similarity: 0.9, group }).action, 'exploit');
    assert.equal(decision.decide({ entryId: 'x', similarity: 0.899, group }).action, 'miss');
  });

  it('verified: with nothing learned it explores above the floor and never serves; below the floor it is a plain miss', () => {
    const decision = verified(new ObservationBook());
    assert.equal(decision.decide({ entryId: 'x', similarity: 0.999, group }).action, 'explore');
    assert.equal(decision.decide({ entryId: 'x', similarity: 0.69, group }).action, 'miss');
  });

  it('verified: serves from the similarity its group learned, explores below it', () => {
    const book = new ObservationBook();
    teach(book, 200, drawn(3000, 7));
    const decision = verified(book);
    const threshold = decision.threshold('new', group);
    assert.ok(threshold !== undefined && threshold > 0.8 && threshold < 0.99, String(threshold));
    assert.ok(trueTailRate(threshold!) <= 0.02);
    assert.deepEqual(decision.decide({ entryId: 'new', similarity: threshold!, group }), { action: 'exploit', threshold });
    assert.equal(decision.decide({ entryId: 'new', similarity: threshold! - 0.001, group }).action, 'explore');
  });

  it('verified: an entry that was wrong at a high similarity is served only above it, while its group is served lower', () => {
    const book = new ObservationBook();
    teach(book, 200, drawn(3000, 7));
    book.add('tricky', group, { similarity: 0.97, correct: false, at: 5000 });
    const decision = verified(book);
    assert.ok(decision.threshold('plain', group)! < 0.96);
    assert.equal(decision.decide({ entryId: 'plain', similarity: 0.96, group }).action, 'exploit');
    assert.equal(decision.decide({ entryId: 'tricky', similarity: 0.96, group }).action, 'explore');
    assert.equal(decision.decide({ entryId: 'tricky', similarity: 0.97, group }).action, 'explore');
    assert.equal(decision.decide({ entryId: 'tricky', similarity: 0.971, group }).action, 'exploit');
    assert.equal(decision.threshold('tricky', group), 0.97);
  });

  it('verified: when similarity says nothing about rightness (a random embedder), it never serves', () => {
    const book = new ObservationBook();
    const next = random(11);
    teach(
      book,
      100,
      Array.from({ length: 3000 }, () => ({ similarity: 0.7 + 0.3 * next(), correct: next() < 0.8 })),
    );
    const decision = verified(book, 0.05);
    for (const s of [0.75, 0.9, 0.99, 1]) assert.equal(decision.decide({ entryId: 'e1', similarity: s, group }).action, 'explore');
  });

  it('learns again as observations arrive, and keeps groups apart', () => {
    const book = new ObservationBook();
    const decision = verified(book, 0.05);
    const observations = drawn(3000, 9);
    teach(book, 200, observations.slice(0, 40));
    assert.equal(decision.threshold('new', group), undefined);
    teach(book, 200, observations);
    assert.notEqual(decision.threshold('new', group), undefined);
    assert.equal(decision.decide({ entryId: 'new', similarity: 0.999, group: 'other|chat.completions' }).action, 'explore');
  });

  it('forgets an evicted entry’s observations, and what the group learned from them', () => {
    const book = new ObservationBook();
    teach(book, 10, drawn(3000, 7));
    const decision = verified(book);
    assert.notEqual(decision.threshold('new', group), undefined);
    book.forget(['e1']);
    assert.deepEqual(book.of('e1'), []);
    assert.ok(book.of('e2').length > 0);
    book.forget(Array.from({ length: 10 }, (_, i) => `e${i}`));
    assert.equal(book.group(group)?.histogram.count, 0);
    assert.equal(decision.threshold('new', group), undefined);
  });
});

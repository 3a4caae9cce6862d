import assert from 'node:assert/strict';
import { chanceRight, chanceRightAtLeast, fitLogistic, lowestSimilarityReaching, UNINFORMED, type Observation } from '../../../../src/core/semantic/decision/logisticFit';
import { ObservationBook } from '../../../../src/core/semantic/decision/observationBook';
import { StaticDecision, VerifiedDecision } from '../../../../src/core/semantic/decision/semanticDecision';

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

/** Observations drawn from a known curve: right with chance σ(a + b·(s − 0.85)/0.1), s uniform in [from, 1]. */
function drawn(n: number, a: number, b: number, seed = 1, from = 0.7): Observation[] {
  const next = random(seed);
  return Array.from({ length: n }, () => {
    const similarity = from + (1 - from) * next();
    const p = 1 / (1 + Math.exp(-(a + b * ((similarity - 0.85) / 0.1))));
    return { similarity, correct: next() < p };
  });
}

describe('the logistic fit of rightness against similarity', () => {
  it('recovers the curve it was drawn from, with an uncertainty that shrinks as observations grow', () => {
    const few = fitLogistic(drawn(100, 1, 3));
    const many = fitLogistic(drawn(5000, 1, 3));
    assert.ok(Math.abs(many.a - 1) < 0.2 && Math.abs(many.b - 3) < 0.3, JSON.stringify(many));
    assert.ok(many.aa < few.aa / 10 && many.bb < few.bb / 10);
  });

  it('returns the prior with no observation, and stays finite when the observations separate perfectly', () => {
    assert.deepEqual(fitLogistic([]), { ...UNINFORMED });
    const separated = [0.72, 0.75, 0.8].map((s) => ({ similarity: s, correct: false })).concat([0.9, 0.95, 0.99].map((s) => ({ similarity: s, correct: true })));
    const fit = fitLogistic(separated);
    for (const value of Object.values(fit)) assert.ok(Number.isFinite(value));
    assert.ok(chanceRight(fit, 0.99) > 0.9 && chanceRight(fit, 0.72) < 0.1);
  });

  it('bounds the chance from below by its uncertainty, and finds where the bound reaches a target', () => {
    const fit = fitLogistic(drawn(400, 2, 4));
    for (const s of [0.75, 0.85, 0.95]) assert.ok(chanceRightAtLeast(fit, s, 1.645) < chanceRight(fit, s));
    const from = lowestSimilarityReaching(fit, 0.98, 1.645, 0.7);
    assert.ok(from !== undefined && from > 0.85 && from <= 1, String(from));
    assert.ok(chanceRightAtLeast(fit, from!, 1.645) >= 0.98 && chanceRightAtLeast(fit, from! - 0.001, 1.645) < 0.98);
    assert.equal(lowestSimilarityReaching(fitLogistic(drawn(50, -3, 0)), 0.98, 1.645, 0.7), undefined);
  });
});

describe('the semantic decision', () => {
  const group = 'space|chat.completions';
  const verified = (book: ObservationBook, maxFalseHitRate = 0.02) => new VerifiedDecision(book, { maxFalseHitRate, floor: 0.7, z: 1.645 });
  const teach = (book: ObservationBook, entries: number, a: number, b: number, seed = 3) => {
    drawn(entries * 20, a, b, seed).forEach((observation, i) => book.add(`e${i % entries}`, group, { ...observation, at: i }));
  };

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

  it('verified: serves where what the group learned puts the chance of a wrong answer within the bound', () => {
    const book = new ObservationBook();
    teach(book, 50, 4, 6);
    const decision = verified(book);
    assert.equal(decision.decide({ entryId: 'new', similarity: 0.99, group }).action, 'exploit');
    assert.equal(decision.decide({ entryId: 'new', similarity: 0.8, group }).action, 'explore');
    const threshold = decision.threshold('new', group);
    assert.ok(threshold !== undefined && threshold > 0.8 && threshold < 0.99, String(threshold));
  });

  it('verified: an entry that was wrong at a high similarity is served only above it, while its group is served lower', () => {
    const book = new ObservationBook();
    teach(book, 50, 4, 6);
    for (let i = 0; i < 6; i++) book.add('tricky', group, { similarity: 0.95 + i * 0.005, correct: false, at: 1000 + i });
    const decision = verified(book);
    assert.equal(decision.decide({ entryId: 'plain', similarity: 0.96, group }).action, 'exploit');
    assert.equal(decision.decide({ entryId: 'tricky', similarity: 0.96, group }).action, 'explore');
  });

  it('verified: when similarity says nothing about rightness (a random embedder), it never serves', () => {
    const book = new ObservationBook();
    teach(book, 100, -1.5, 0);
    const decision = verified(book, 0.05);
    for (const s of [0.75, 0.9, 0.99, 1]) assert.equal(decision.decide({ entryId: 'e1', similarity: s, group }).action, 'explore');
  });

  it('keeps groups apart, and forgets an evicted entry’s observations', () => {
    const book = new ObservationBook();
    teach(book, 50, 4, 6);
    const decision = verified(book);
    assert.equal(decision.decide({ entryId: 'new', similarity: 0.99, group: 'other|chat.completions' }).action, 'explore');
    book.forget(['e1']);
    assert.deepEqual(book.of('e1'), []);
    assert.ok(book.of('e2').length > 0);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wilsonInterval } from '../../../../../src/core/metrics';
import { EmbeddingJudge, ExactJudge, type JudgeInput } from '../../../../../src/core/semantic/judge/answerJudge';
import { ObservationStore } from '../../../../../src/core/stores/observationStore';
import type { JsonObject } from '../../../../../src/core/types';

const answer = (content: string): JsonObject => ({
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
});
const input = (stored: string, fresh: string): JudgeInput => ({
  endpoint: 'chat.completions',
  model: 'm',
  question: 'q',
  stored: answer(stored),
  fresh: answer(fresh),
  authorization: undefined,
});

describe('answer judges', () => {
  it('exact: the same text once whitespace and case are set aside', async () => {
    const judge = new ExactJudge();
    assert.equal(await judge.judge(input('  Positive\n', 'positive')), true);
    assert.equal(await judge.judge(input('positive', 'negative')), false);
  });

  /** Unit vectors in the plane at these angles (degrees): cosines are easy to set. */
  const at = (...degrees: number[]) => degrees.map((d) => Float32Array.of(Math.cos((d * Math.PI) / 180), Math.sin((d * Math.PI) / 180)));

  it("embedding: the answers' cosine against the threshold; the same text needs no model; no model, no verdict", async () => {
    // cos 10° = 0.985, cos 60° = 0.5
    const judge = (angle: number | undefined) => new EmbeddingJudge(async () => (angle === undefined ? undefined : at(0, angle)), 0.9);
    assert.equal(await judge(10).judge(input('Paris is the capital.', 'The capital is Paris.')), true);
    assert.equal(await judge(60).judge(input('Paris is the capital.', 'Madrid is the capital.')), false);
    assert.equal(await judge(undefined).judge(input('a', 'b')), undefined);
    assert.equal(await judge(undefined).judge(input('same  text', 'same text')), true);
    assert.equal(await new EmbeddingJudge(async () => Promise.reject(new Error('worker gone')), 0.9).judge(input('a', 'b')), undefined);
  });

  it('embedding: says nothing once its model shows it cannot tell unrelated answers apart', async () => {
    // Every answer 5° from every other: a model whose vectors all point one way.
    let angle = 0;
    const alike = new EmbeddingJudge(async () => at(angle, (angle += 5)), 0.9);
    const verdicts: Array<boolean | undefined> = [];
    for (let i = 0; i < 20; i++) verdicts.push(await alike.judge(input(`stored ${i}`, `fresh ${i}`)));
    // Trusted while the evidence is thin (fewer than 10 unrelated pairs), then silent.
    assert.deepEqual(verdicts.slice(0, 10), Array(10).fill(true));
    assert.deepEqual(verdicts.slice(10), Array(10).fill(undefined));
    assert.deepEqual(alike.check(), { pairs: 19, alikeShare: 1, tellsApart: false });
    // Not even identical text: only right answers would be recorded.
    assert.equal(await alike.judge(input('same text', 'same text')), undefined);

    // A model that spreads unrelated answers (each 40° from the last) keeps judging.
    let turn = 0;
    const apart = new EmbeddingJudge(async () => {
      turn += 40;
      return at(turn, turn + 10);
    }, 0.9);
    for (let i = 0; i < 20; i++) assert.equal(await apart.judge(input(`stored ${i}`, `fresh ${i}`)), true);
    assert.deepEqual(apart.check(), { pairs: 19, alikeShare: 0, tellsApart: true });
  });
});

describe('the measured false-hit rate', () => {
  it("has Wilson's 95% interval: honest with few checks and none wrong", () => {
    assert.equal(wilsonInterval(0, 0), null);
    const none = wilsonInterval(0, 30)!;
    assert.equal(none.low, 0);
    assert.ok(Math.abs(none.high - 0.1135) < 0.001, String(none.high));
    const some = wilsonInterval(5, 100)!;
    assert.ok(
      some.low < 0.05 && some.high > 0.05 && Math.abs(some.low - 0.0215) < 0.001 && Math.abs(some.high - 0.1118) < 0.001,
      JSON.stringify(some),
    );
  });
});

describe('ObservationStore', () => {
  it("persists observations, reads the latest back per entry, and deletes an entry's with it", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deja-obs-'));
    try {
      const file = join(dir, 'cache.sqlite');
      let store = await ObservationStore.open(file);
      for (let i = 0; i < 70; i++) store.add({ entryId: 'a', group: 'g|chat.completions', similarity: 0.8, correct: i % 2 === 0, at: i });
      store.add({ entryId: 'b', group: 'g|chat.completions', similarity: 0.9, correct: true, at: 5 });
      await store.close();
      store = await ObservationStore.open(file);
      const loaded = await store.loadAll();
      assert.equal(loaded.filter((o) => o.entryId === 'a').length, 64, 'the latest 64 of an entry');
      assert.deepEqual(loaded.filter((o) => o.entryId === 'a').at(-1), {
        entryId: 'a',
        group: 'g|chat.completions',
        similarity: 0.8,
        correct: false,
        at: 69,
      });
      store.remove(['a']);
      await store.flush();
      assert.deepEqual(
        (await store.loadAll()).map((o) => o.entryId),
        ['b'],
      );
      await store.clear();
      assert.deepEqual(await store.loadAll(), []);
      await store.close();
      const memory = await ObservationStore.open(null);
      memory.add({ entryId: 'x', group: 'g', similarity: 1, correct: true, at: 0 });
      assert.deepEqual(await memory.loadAll(), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

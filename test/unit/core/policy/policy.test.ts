import assert from 'node:assert/strict';
import { maskQuoted, Policy, resolvePolicy } from '../../../../src/core/policy/policy';
import type { PolicyDecision } from '../../../../src/core/policy/policyTypes';
import type { JsonObject } from '../../../../src/core/types';
import { readSet, score } from '../../../../scripts/evalPolicy';

const now = new Date('2026-11-25T12:00:00Z');
const policy = new Policy();
const chat = (content: string, extra: JsonObject = {}) => ({
  model: 'm',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content },
  ],
  ...extra,
});
const classify = (content: string, extra: JsonObject = {}, p = policy): PolicyDecision =>
  p.classify({ endpoint: 'chat.completions', body: chat(content, extra), now });
const reasonOf = (content: string, extra: JsonObject = {}) => {
  const decision = classify(content, extra);
  return decision.cacheable ? 'cacheable' : decision.reason;
};

describe('policy', () => {
  const cases: Array<[string, string]> = [
    // code generation
    ['Write a function that reverses a linked list', 'code_generation'],
    ['Fix this:\n```js\nconst x = [1,2].mapp(y => y)\n```', 'code_generation'],
    ['implement quicksort in go', 'code_generation'],
    ['Напиши функцию на Python, которая считает факториал', 'code_generation'],
    ['What is a function in math?', 'cacheable'],
    ["Explain how Python's datetime works", 'cacheable'],
    ['What does this code do?\n```python\nprint(sum(range(10)))\n```', 'cacheable'],
    ['How do I write a good cover letter?', 'cacheable'],
    ['Что такое функция в математике?', 'cacheable'],
    // time sensitive
    ["What's the weather today in Paris?", 'time_sensitive'],
    ['As of now, who leads the standings?', 'time_sensitive'],
    ['Is 2026-12-24 a holiday in Germany?', 'time_sensitive'],
    ['Какая погода будет завтра в Москве?', 'time_sensitive'],
    ['What happened on 20 July 1969?', 'cacheable'],
    ['What is an electric current?', 'cacheable'],
    ['Что означает выражение «здесь и сейчас»?', 'cacheable'],
    // personalized
    ['What meetings are on my calendar?', 'personalized'],
    ['Remind me to call the dentist', 'personalized'],
    ['Покажи мои заказы за неделю', 'personalized'],
    ['Oh my god, why is the ocean salty?', 'cacheable'],
    ['How do I reset my password on GitHub?', 'cacheable'],
    // financial
    ['What is the current EUR/USD rate?', 'financial'],
    ['stock price of NVDA', 'financial'],
    ['Какой сейчас курс доллара?', 'financial'],
    ['How are exchange rates determined?', 'cacheable'],
    ['What was the price of gold in 1980?', 'cacheable'],
    ['What is a stock exchange?', 'cacheable'],
  ];
  for (const [prompt, expected] of cases) {
    it(`${expected}: ${JSON.stringify(prompt.slice(0, 60))}`, () => assert.equal(reasonOf(prompt), expected));
  }

  it('records the exact span that fired, in the field it came from', () => {
    const prompt = 'Please write a function that parses CSV';
    const decision = classify(prompt);
    assert.equal(decision.cacheable, false);
    if (decision.cacheable) return;
    assert.equal(decision.rule, 'code_generation/write-code');
    assert.equal(decision.span?.field, 'messages[1].content');
    assert.equal(prompt.slice(decision.span!.start, decision.span!.end), decision.span!.text);
    assert.match(decision.span!.text, /write a function/);
  });

  it('skips fill-in-the-middle completions, with the suffix as the span', () => {
    const decision = policy.classify({
      endpoint: 'completions',
      body: { model: 'm', prompt: 'def add(a, b):\n    ', suffix: '\n\nprint(add(1, 2))' },
      now,
    });
    assert.deepEqual(decision.cacheable ? undefined : [decision.reason, decision.span?.field], ['code_generation', 'suffix']);
    assert.equal(policy.classify({ endpoint: 'completions', body: { model: 'm', prompt: 'Once upon a time' }, now }).cacheable, true);
  });

  it('treats temperature above the threshold, and n > 1, as not cacheable; an absent temperature counts as 0', () => {
    assert.equal(reasonOf('hello', { temperature: 0.81 }), 'high_temperature');
    assert.equal(reasonOf('hello', { temperature: 0.8 }), 'cacheable');
    assert.equal(reasonOf('hello', { n: 2 }), 'high_temperature');
    assert.equal(reasonOf('hello'), 'cacheable');
    const strict = new Policy(resolvePolicy({ highTemperature: { absentTemperature: 1 } }));
    assert.equal(classify('hello', {}, strict).cacheable, false);
  });

  it('reports a client opt-out first, with the header as the span', () => {
    const decision = policy.classify({
      endpoint: 'chat.completions',
      body: chat('Write a function'),
      clientOptOut: 'Cache-Control: no-store',
      now,
    });
    assert.deepEqual(decision.cacheable ? undefined : [decision.reason, decision.span?.text], [
      'client_opt_out',
      'Cache-Control: no-store',
    ]);
  });

  it('is data-driven: rules switch off, thresholds move, teams add patterns', () => {
    const custom = new Policy(
      resolvePolicy({
        codeGeneration: { enabled: false },
        highTemperature: { maxTemperature: 1.5 },
        personalized: { userField: true, extraPatterns: [{ id: 'our-crm', pattern: '\\bin (the )?crm\\b' }] },
      }),
    );
    assert.equal(classify('Write a function that sorts', {}, custom).cacheable, true);
    assert.equal(classify('hello', { temperature: 1.2 }, custom).cacheable, true);
    const crm = classify('Find Acme Corp in the crm', {}, custom);
    assert.deepEqual(crm.cacheable ? undefined : [crm.reason, crm.rule], ['personalized', 'personalized/our-crm']);
    const withUser = classify('What is a cache?', { user: 'alice' }, custom);
    assert.deepEqual(withUser.cacheable ? undefined : [withUser.reason, withUser.span?.field], ['personalized', 'user']);
    assert.throws(
      () => new Policy(resolvePolicy({ financial: { extraPatterns: [{ id: 'bad', pattern: '([' }] } })),
      /policy pattern "bad" is not a valid regular expression/,
    );
  });

  it('ignores quoted material when it is the thing to work on', () => {
    assert.equal(reasonOf('Translate to French: "I will call you tomorrow about my order."'), 'cacheable');
    assert.equal(maskQuoted('say «завтра» now'), 'say          now');
  });

  it('reads a very long prompt at both ends only, with spans at their true offsets', () => {
    const filler = 'Here are my notes on the migration plan. '.replace('my ', '').repeat(1000);
    const atEnd = `${filler}\nNow write a function that validates the config.`;
    const decision = classify(atEnd);
    assert.equal(decision.cacheable ? undefined : decision.reason, 'code_generation');
    if (!decision.cacheable) assert.equal(atEnd.slice(decision.span!.start, decision.span!.end), decision.span!.text);
    const inTheMiddle = `${filler.slice(0, 20000)} write a function ${filler.slice(0, 20000)}`;
    assert.equal(classify(inTheMiddle).cacheable, true, 'the middle of a pasted context is not read');
  });

  it('needs every "requires" pattern: a rate is financial only with a present-tense word', () => {
    assert.equal(reasonOf('What are mortgage rates today?'), 'financial');
    assert.equal(reasonOf('How do mortgage rates affect house prices?'), 'cacheable');
  });

  it('meets its precision and recall on the sets it was tuned on (a regression guard)', () => {
    for (const name of ['dev', 'dev2']) {
      const { rows, decision } = score(readSet(name));
      assert.ok(decision.precision >= 0.95 && decision.recall >= 0.95, `${name}: skip decision ${decision.precision} / ${decision.recall}`);
      for (const row of rows) {
        assert.ok(row.precision >= 0.9, `${name} ${row.reason} precision ${row.precision}`);
        assert.ok(row.recall >= 0.8, `${name} ${row.reason} recall ${row.recall}`);
      }
    }
  });
});

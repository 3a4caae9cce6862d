import assert from 'node:assert/strict';
import { keyedRequest } from '../../../../src/core/cacheKey';
import { semanticQueryFor } from '../../../../src/core/semantic/semanticQuery';
import type { JsonObject } from '../../../../src/core/types';

const chat = (question: string, extra: JsonObject = {}, history: JsonObject[] = []): JsonObject =>
  keyedRequest({
    model: 'm',
    messages: [{ role: 'system', content: 'You are terse.' }, ...history, { role: 'user', content: question }],
    ...extra,
  });
const partition = (body: JsonObject, tenant = 't') => semanticQueryFor('chat.completions', tenant, body)?.partition;

describe('semanticQueryFor', () => {
  it('embeds the last user message and keeps paraphrases in one partition', () => {
    const a = semanticQueryFor('chat.completions', 't', chat('What is the capital of France?'));
    const b = semanticQueryFor('chat.completions', 't', chat("what's france's capital"));
    assert.equal(a?.text, 'What is the capital of France?');
    assert.equal(a?.partition, b?.partition);
    assert.match(a!.partition, /^[0-9a-f]{32}$/);
  });

  it('puts a change of system prompt, model, history, tools, temperature, tenant or endpoint in another partition', () => {
    const base = partition(chat('q'));
    const variants = [
      keyedRequest({
        model: 'm',
        messages: [
          { role: 'system', content: 'You are verbose.' },
          { role: 'user', content: 'q' },
        ],
      }),
      chat('q', { model: 'other' }),
      chat('q', {}, [
        { role: 'user', content: 'earlier' },
        { role: 'assistant', content: 'reply' },
      ]),
      chat('q', { tools: [{ type: 'function', function: { name: 'f' } }] }),
      chat('q', { temperature: 0.3 }),
      chat('q', { response_format: { type: 'json_object' } }),
    ];
    const partitions = new Set(variants.map((variant) => partition(variant)));
    assert.equal(partitions.size, variants.length);
    assert.ok(!partitions.has(base));
    assert.notEqual(partition(chat('q'), 'other-tenant'), base);
    assert.notEqual(semanticQueryFor('completions', 't', { model: 'm', prompt: 'q' })?.partition, base);
  });

  it('ignores stream settings, as the exact key does', () => {
    assert.equal(partition(chat('q', { stream: true })), partition(chat('q')));
  });

  it('reads text parts, and refuses what a paraphrase cannot answer', () => {
    const parts = chat('x');
    (parts.messages as JsonObject[])[1] = {
      role: 'user',
      content: [
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b' },
      ],
    };
    assert.equal(semanticQueryFor('chat.completions', 't', parts)?.text, 'a\nb');
    const image = chat('x');
    (image.messages as JsonObject[])[1] = { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:' } }] };
    assert.equal(semanticQueryFor('chat.completions', 't', image), undefined);
    const endsWithAssistant = keyedRequest({
      model: 'm',
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'pre' },
      ],
    });
    assert.equal(semanticQueryFor('chat.completions', 't', endsWithAssistant), undefined);
    assert.equal(semanticQueryFor('chat.completions', 't', chat('   ')), undefined);
    assert.equal(semanticQueryFor('embeddings', 't', { model: 'm', input: 'q' }), undefined);
    assert.equal(semanticQueryFor('completions', 't', { model: 'm', prompt: [1, 2, 3] }), undefined);
    assert.equal(semanticQueryFor('completions', 't', { model: 'm', prompt: ['only one'] })?.text, 'only one');
  });

  it('keeps the suffix of a fill-in-the-middle request in the partition', () => {
    const a = semanticQueryFor('completions', 't', { model: 'm', prompt: 'def f(', suffix: ')' });
    const b = semanticQueryFor('completions', 't', { model: 'm', prompt: 'def f(', suffix: '): pass' });
    assert.notEqual(a?.partition, b?.partition);
  });
});

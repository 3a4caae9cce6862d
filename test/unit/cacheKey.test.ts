import assert from 'node:assert/strict';
import { canonicalJson, identifyRequest, keyedRequest, tenantTag } from '../../src/core/cacheKey';
import type { JsonObject } from '../../src/core/types';

const tenant = tenantTag('http://127.0.0.1:8000/v1', 'Bearer a');
const chat = (extra: JsonObject = {}): JsonObject => ({
  model: 'm',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hi' },
  ],
  ...extra,
});
const key = (body: JsonObject, endpoint: 'chat.completions' | 'completions' = 'chat.completions', t = tenant) =>
  identifyRequest(endpoint, t, body).key;

describe('cacheKey', () => {
  it('sorts object keys at every depth', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 1 }], c: null } }), '{"a":{"c":null,"d":[1,{"e":1,"f":2}]},"b":1}');
  });

  it('gives the same key whatever the key order of the body', () => {
    const reordered: JsonObject = { messages: chat().messages!, model: 'm' };
    assert.equal(key(chat()), key(reordered));
  });

  it('ignores stream, stream_options and user', () => {
    assert.equal(key(chat()), key(chat({ stream: true, stream_options: { include_usage: true }, user: 'u1' })));
  });

  it('changes with every field that changes the answer', () => {
    const base = key(chat());
    const variants: JsonObject[] = [
      { model: 'other' },
      { temperature: 0.2 },
      { top_p: 0.9 },
      { max_tokens: 10 },
      { seed: 1 },
      { stop: ['\n'] },
      { n: 2 },
      { tools: [{ type: 'function', function: { name: 'f' } }] },
      { tool_choice: 'required' },
      { response_format: { type: 'json_object' } },
      { logit_bias: { '1': 2 } },
      { top_k: 5 },
      { messages: [{ role: 'user', content: 'hi' }] },
      { messages: [{ role: 'system', content: 'be long' }, { role: 'user', content: 'hi' }] },
    ];
    const keys = new Set(variants.map((variant) => key(chat(variant))));
    assert.equal(keys.size, variants.length);
    assert.ok(!keys.has(base));
  });

  it('keeps an absent temperature apart from any explicit one', () => {
    assert.notEqual(key(chat()), key(chat({ temperature: 1 })));
    assert.notEqual(key(chat()), key(chat({ temperature: 0 })));
  });

  it('separates endpoints, upstreams and credentials', () => {
    const body = { model: 'm', prompt: 'hi' };
    assert.notEqual(key(body, 'completions'), key(body, 'chat.completions'));
    assert.notEqual(key(chat()), key(chat(), 'chat.completions', tenantTag('http://127.0.0.1:8000/v1', 'Bearer b')));
    assert.notEqual(key(chat()), key(chat(), 'chat.completions', tenantTag('http://other:8000/v1', 'Bearer a')));
    assert.notEqual(tenantTag('u', undefined), tenantTag('u', 'Bearer x'));
  });

  it('keeps a __proto__ key as data, without touching prototypes', () => {
    const body = JSON.parse('{"model":"m","messages":[],"__proto__":{"polluted":true}}') as JsonObject;
    const keyed = keyedRequest(body);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    assert.equal(Object.getPrototypeOf(keyed), Object.prototype);
    assert.ok(canonicalJson(keyed).includes('"__proto__":{"polluted":true}'));
    const plain = JSON.parse('{"model":"m","messages":[]}') as JsonObject;
    assert.notEqual(key(body), key(plain));
  });

  it('produces a 32-hex-digit key', () => {
    assert.match(key(chat()), /^[0-9a-f]{32}$/);
  });
});

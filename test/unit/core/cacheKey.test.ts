import assert from 'node:assert/strict';
import { canonicalJson, identifyRequest, identityOfEntry, keyedRequest, tenantTag } from '../../../src/core/cacheKey';
import { exactTree, inexactNumbersIn, stringifyExact } from '../../../src/core/exactNumbers';
import { LlmCache } from '../../../src/core/llmCache';
import { silentLogger } from '../../../src/core/logger';
import { semanticQueryFor } from '../../../src/core/semantic/semanticQuery';
import { MemoryExactStore } from '../../../src/core/stores/memoryExactStore';
import type { JsonObject, JsonValue } from '../../../src/core/types';

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
      {
        messages: [
          { role: 'system', content: 'be long' },
          { role: 'user', content: 'hi' },
        ],
      },
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

/** The key of a body as sent: parsed as the gateway parses it, with its inexact numbers read from the text. */
const keyOfText = (text: string, endpoint: 'chat.completions' | 'completions' = 'chat.completions') =>
  identifyRequest(endpoint, tenant, JSON.parse(text) as JsonObject, [], inexactNumbersIn(text)).key;

describe('cacheKey: numbers a double does not keep', () => {
  const messages = '"messages":[{"role":"user","content":"hi"}]';
  const body = (fields: string) => `{"model":"m",${messages},${fields}}`;

  it('gives two keys to requests that differ only in a seed past 2^53 (both parse to the same double)', () => {
    assert.equal(JSON.parse('9007199254740993'), JSON.parse('9007199254740992'));
    assert.notEqual(keyOfText(body('"seed":9007199254740993')), keyOfText(body('"seed":9007199254740992')));
    assert.notEqual(keyOfText(body('"seed":12345678901234567891')), keyOfText(body('"seed":12345678901234567892')));
    assert.notEqual(keyOfText(body('"seed":-9007199254740993')), keyOfText(body('"seed":-9007199254740992')));
  });

  it('does the same for max_tokens, a logit_bias value, and numbers nested in tools and response_format', () => {
    const pairs: Array<[string, string]> = [
      ['"max_tokens":18446744073709551617', '"max_tokens":18446744073709551616'],
      ['"logit_bias":{"50256":9007199254740993}', '"logit_bias":{"50256":9007199254740992}'],
      ['"logit_bias":{"50256":0.1000000000000000000001}', '"logit_bias":{"50256":0.1}'],
      ['"temperature":0.7000000000000000000001', '"temperature":0.7'],
      [
        '"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"n":{"type":"integer","maximum":9007199254740993}}}}}]',
        '"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"n":{"type":"integer","maximum":9007199254740992}}}}}]',
      ],
      [
        '"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"integer","minimum":[1,99999999999999999999]}}}',
        '"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"integer","minimum":[1,100000000000000000000]}}}',
      ],
      ['"top_k":1e-400', '"top_k":0'],
      // JavaScript writes 10^30 as 1e+30, which a reader that keeps integers exact takes for another value.
      ['"seed":1000000000000000000000000000000', '"seed":1e30'],
    ];
    for (const [a, b] of pairs) assert.notEqual(keyOfText(body(a)), keyOfText(body(b)), a);
    // The completions endpoint reads its body the same way.
    assert.notEqual(
      keyOfText('{"model":"m","prompt":"p","seed":9007199254740993}', 'completions'),
      keyOfText('{"model":"m","prompt":"p","seed":9007199254740992}', 'completions'),
    );
  });

  it('gives the same request the same key, whatever its key order', () => {
    const a = body('"seed":9007199254740993,"logit_bias":{"1":0.1000000000000000000001,"2":3}');
    assert.equal(keyOfText(a), keyOfText(a));
    assert.equal(
      keyOfText(a),
      keyOfText(`{"logit_bias":{"2":3,"1":0.1000000000000000000001},"seed":9007199254740993,${messages},"model":"m"}`),
    );
  });

  it('keeps reading numbers a double holds by value: 1 and 1.0 share a key, as before', () => {
    assert.equal(keyOfText(body('"temperature":1')), keyOfText(body('"temperature":1.0')));
    assert.equal(keyOfText(body('"temperature":0.1')), keyOfText(body('"temperature":0.10000000000000000000')));
    assert.equal(keyOfText(body('"seed":100000000000000000000')), keyOfText(body('"seed":1e20')));
    // A body without such numbers keys exactly as it did.
    const plain = body('"seed":42,"temperature":0.5');
    assert.equal(keyOfText(plain), key(JSON.parse(plain) as JsonObject));
    assert.equal(canonicalJson(JSON.parse(plain) as JsonValue, inexactNumbersIn(plain)), canonicalJson(JSON.parse(plain) as JsonValue));
  });

  it('writes an inexact number into the canonical form as the client wrote it', () => {
    const text = body('"seed":9007199254740993,"x":[0.1000000000000000000001]');
    const identity = identifyRequest('chat.completions', tenant, JSON.parse(text) as JsonObject, [], inexactNumbersIn(text));
    assert.match(identity.canonical, /"seed":9007199254740993[,}]/);
    assert.match(identity.canonical, /"x":\[0\.1000000000000000000001\]/);
    assert.deepEqual(identity.exactNumbers, [
      { path: ['seed'], text: '9007199254740993' },
      { path: ['x', 0], text: '0.1000000000000000000001' },
    ]);
  });

  it('ignores such numbers in fields outside the key, and follows JSON.parse on a duplicate key', () => {
    assert.equal(keyOfText(body('"metadata":{"run":9007199254740993}')), keyOfText(body('"metadata":{"run":9007199254740992}')));
    assert.equal(
      identifyRequest('chat.completions', tenant, { model: 'm' }, [], inexactNumbersIn('{"model":"m","user":12345678901234567891}'))
        .exactNumbers,
      undefined,
    );
    // The last value of a duplicate key is the one JSON.parse keeps (and the one keyed).
    assert.equal(keyOfText(body('"seed":9007199254740993,"seed":5')), keyOfText(body('"seed":5')));
    assert.notEqual(keyOfText(body('"seed":5,"seed":9007199254740993')), keyOfText(body('"seed":5')));
  });

  it('separates semantic partitions as it separates keys', () => {
    const partition = (text: string) =>
      semanticQueryFor('chat.completions', tenant, JSON.parse(text) as JsonObject, undefined, [], inexactNumbersIn(text))?.partition;
    assert.ok(partition(body('"seed":9007199254740993')));
    assert.notEqual(partition(body('"seed":9007199254740993')), partition(body('"seed":9007199254740992')));
    assert.equal(partition(body('"seed":1')), partition(body('"seed":1.0')));
  });

  it('keeps the digits in the stored entry: a hit for its own request, its key made again from the entry, its request written exactly', async () => {
    const store = new MemoryExactStore();
    const cache = new LlmCache({ exact: store, logger: silentLogger });
    const identityOf = (text: string) =>
      identifyRequest('chat.completions', tenant, JSON.parse(text) as JsonObject, [], inexactNumbersIn(text));
    const a = identityOf(body('"seed":9007199254740993'));
    const b = identityOf(body('"seed":9007199254740992'));
    const response: JsonObject = {
      id: 'a',
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'A' }, finish_reason: 'stop' }],
    };
    await cache.store({ endpoint: 'chat.completions', identity: a, tenant, model: 'm', response, source: 'json', ttlSeconds: 60 });
    // The memory store keeps entries as JSON text, as SQLite and Redis do.
    const stored = await store.get(a.key);
    assert.deepEqual(stored?.exactNumbers, [{ path: ['seed'], text: '9007199254740993' }]);
    assert.equal(identityOfEntry(stored!).canonical, a.canonical);
    assert.match(stringifyExact(stored!.request, exactTree(stored!.exactNumbers)), /"seed":9007199254740993/);
    assert.equal((await cache.lookupExact(a, tenant))?.response.id, 'a');
    assert.equal(await cache.lookupExact(b, tenant), undefined);
    // An entry whose request lost the digits (as stored before this fix) does not answer the exact request.
    await store.set({ ...stored!, exactNumbers: undefined });
    assert.equal(await new LlmCache({ exact: store, logger: silentLogger }).lookupExact(a, tenant), undefined);
  });
});

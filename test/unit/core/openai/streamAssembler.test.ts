import assert from 'node:assert/strict';
import { StreamAssembler } from '../../../../src/core/openai/streamAssembler';
import { replayChunks } from '../../../../src/core/openai/streamReplay';
import { textPieces } from '../../../../src/core/openai/textPieces';
import type { JsonObject } from '../../../../src/core/types';

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'm' };

function assemble(endpoint: 'chat.completions' | 'completions', chunks: JsonObject[]): JsonObject {
  const assembler = new StreamAssembler(endpoint);
  for (const chunk of chunks) assembler.push(chunk);
  return assembler.result();
}

describe('StreamAssembler', () => {
  it('assembles content, reasoning, finish reason and usage as vLLM streams them', () => {
    const chunks: JsonObject[] = [
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: { reasoning_content: 'Let me ' }, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: { reasoning_content: 'think.' }, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: { content: ', world' }, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop', stop_reason: null }] },
      { ...head, choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } },
    ];
    assert.deepEqual(assemble('chat.completions', chunks), {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1700000000,
      model: 'm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello, world', reasoning_content: 'Let me think.' },
          logprobs: null,
          finish_reason: 'stop',
          stop_reason: null,
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
    });
  });

  it('merges tool-call deltas by index', () => {
    const chunks: JsonObject[] = [
      { ...head, choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] },
      {
        ...head,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
          },
        ],
      },
      { ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } }] },
      {
        ...head,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } }] },
          },
        ],
      },
      { ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] } }] },
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
    ];
    const message = (assemble('chat.completions', chunks).choices as JsonObject[])[0]!.message as JsonObject;
    assert.equal(message.content, null);
    assert.deepEqual(message.tool_calls, [
      { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ]);
  });

  it('keeps choices apart and reports each finish reason', () => {
    const assembler = new StreamAssembler('completions');
    assembler.push({ ...head, object: 'text_completion', choices: [{ index: 1, text: 'B', finish_reason: null }] });
    assembler.push({ ...head, object: 'text_completion', choices: [{ index: 0, text: 'A', finish_reason: null }] });
    assembler.push({ ...head, object: 'text_completion', choices: [{ index: 0, text: 'a', finish_reason: 'stop' }] });
    assembler.push({ ...head, object: 'text_completion', choices: [{ index: 1, text: 'b', finish_reason: 'length' }] });
    const result = assembler.result();
    assert.deepEqual(
      (result.choices as JsonObject[]).map((choice) => [choice.index, choice.text]),
      [
        [0, 'Aa'],
        [1, 'Bb'],
      ],
    );
    assert.deepEqual(assembler.finishReasons(), ['stop', 'length']);
    assert.equal(result.object, 'text_completion');
  });

  it('concatenates logprobs content arrays', () => {
    const chunks: JsonObject[] = [
      { ...head, choices: [{ index: 0, delta: { content: 'a' }, logprobs: { content: [{ token: 'a', logprob: -1 }] } }] },
      {
        ...head,
        choices: [{ index: 0, delta: { content: 'b' }, logprobs: { content: [{ token: 'b', logprob: -2 }] }, finish_reason: 'stop' }],
      },
    ];
    const choice = (assemble('chat.completions', chunks).choices as JsonObject[])[0]!;
    assert.deepEqual(choice.logprobs, {
      content: [
        { token: 'a', logprob: -1 },
        { token: 'b', logprob: -2 },
      ],
    });
  });
});

describe('replayChunks', () => {
  const stored: JsonObject = {
    id: 'chatcmpl-9',
    object: 'chat.completion',
    created: 1700000001,
    model: 'm',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: 'The answer is  forty-two.\nReally: 42 🎉',
          reasoning_content: 'First I recall the book.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"meaning of life"}' } }],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
      { index: 1, message: { role: 'assistant', content: 'Second choice' }, logprobs: null, finish_reason: 'stop' },
    ],
    usage: { prompt_tokens: 4, completion_tokens: 9, total_tokens: 13 },
  };

  it('replays a stored chat answer that assembles back to the same answer', () => {
    const chunks = replayChunks('chat.completions', stored, { includeUsage: true });
    assert.deepEqual(assemble('chat.completions', chunks), stored);
    assert.ok(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === 'chatcmpl-9'));
    const first = (chunks[0]!.choices as JsonObject[])[0]!;
    assert.deepEqual(first.delta, { role: 'assistant', content: '' });
    assert.deepEqual(chunks.at(-1), { ...head, id: 'chatcmpl-9', created: 1700000001, choices: [], usage: stored.usage });
  });

  it('streams text in several natural pieces, reasoning before content', () => {
    const chunks = replayChunks('chat.completions', stored, { includeUsage: false });
    const deltas = chunks.flatMap((chunk) => (chunk.choices as JsonObject[]).map((choice) => choice.delta as JsonObject));
    const fields = deltas.map((delta) => Object.keys(delta)[0]);
    assert.ok(fields.indexOf('reasoning_content') < fields.indexOf('content', 1));
    assert.ok(deltas.filter((delta) => typeof delta.content === 'string' && delta.content !== '').length >= 5);
    assert.ok(!chunks.some((chunk) => 'usage' in chunk), 'no usage chunk unless asked');
  });

  it('replays completions, and logprobs in one piece with their text', () => {
    const completion: JsonObject = {
      id: 'cmpl-1',
      object: 'text_completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, text: 'def f(): pass', logprobs: { tokens: ['def'], token_logprobs: [-0.1] }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 },
    };
    const chunks = replayChunks('completions', completion, { includeUsage: true });
    assert.deepEqual(assemble('completions', chunks), completion);
    const plain = { ...completion, choices: [{ index: 0, text: 'one two three', logprobs: null, finish_reason: 'stop' }] };
    const plainChunks = replayChunks('completions', plain, { includeUsage: false });
    assert.equal(plainChunks.length, 4);
    assert.deepEqual(assemble('completions', plainChunks).choices, plain.choices);
  });
});

describe('textPieces', () => {
  it('always concatenates back to the original, never splitting a surrogate pair', () => {
    const samples = [
      '',
      ' ',
      'a',
      '  lead and trail  ',
      'line\n\nbreaks\tand tabs',
      'x'.repeat(100),
      '🎉🎉🎉 emoji ✨ — “quotes”',
      'привет мир, как дела',
    ];
    for (const sample of samples) {
      const pieces = textPieces(sample);
      assert.equal(pieces.join(''), sample);
      for (const piece of pieces) assert.doesNotMatch(piece, /^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
    assert.equal(textPieces('x'.repeat(100)).length, 7);
  });
});

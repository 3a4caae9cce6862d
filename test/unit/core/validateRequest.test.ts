import assert from 'node:assert/strict';
import { validateRequest } from '../../../src/core/validateRequest';

describe('validateRequest', () => {
  it('accepts well-formed bodies for each endpoint', () => {
    assert.equal(validateRequest('chat.completions', { model: 'm', messages: [{ role: 'user', content: 'hi' }] }), undefined);
    assert.equal(
      validateRequest('chat.completions', { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }),
      undefined,
    );
    assert.equal(
      validateRequest('chat.completions', { model: 'm', messages: [{ role: 'assistant', content: null, tool_calls: [] }] }),
      undefined,
    );
    assert.equal(validateRequest('completions', { model: 'm', prompt: 'hi' }), undefined);
    assert.equal(validateRequest('completions', { model: 'm', prompt: [1, 2, 3] }), undefined);
    assert.equal(validateRequest('completions', { model: 'm', prompt: [[1, 2], [3]] }), undefined);
    assert.equal(validateRequest('embeddings', { model: 'm', input: ['a', 'b'] }), undefined);
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'text', 3]) {
      assert.equal(validateRequest('chat.completions', body)?.code, 'invalid_body');
    }
  });

  it('names the missing or wrongly typed field', () => {
    const cases: Array<[Parameters<typeof validateRequest>, string, string]> = [
      [['chat.completions', { messages: [] }], 'model', 'missing_required_parameter'],
      [['chat.completions', { model: 7, messages: [] }], 'model', 'invalid_type'],
      [['chat.completions', { model: ' ', messages: [] }], 'model', 'invalid_value'],
      [['chat.completions', { model: 'm' }], 'messages', 'missing_required_parameter'],
      [['chat.completions', { model: 'm', messages: 'hi' }], 'messages', 'invalid_type'],
      [['chat.completions', { model: 'm', messages: [] }], 'messages', 'invalid_value'],
      [['chat.completions', { model: 'm', messages: ['hi'] }], 'messages[0]', 'invalid_type'],
      [['chat.completions', { model: 'm', messages: [{ content: 'hi' }] }], 'messages[0].role', 'invalid_type'],
      [['chat.completions', { model: 'm', messages: [{ role: 'user', content: 5 }] }], 'messages[0].content', 'invalid_type'],
      [['chat.completions', { model: 'm', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }], 'stream', 'invalid_type'],
      [['chat.completions', { model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: '0' }], 'temperature', 'invalid_type'],
      [['chat.completions', { model: 'm', messages: [{ role: 'user', content: 'x' }], n: 0 }], 'n', 'invalid_value'],
      [
        ['chat.completions', { model: 'm', messages: [{ role: 'user', content: 'x' }], stream_options: 1 }],
        'stream_options',
        'invalid_type',
      ],
      [['completions', { model: 'm' }], 'prompt', 'missing_required_parameter'],
      [['completions', { model: 'm', prompt: { text: 'x' } }], 'prompt', 'invalid_type'],
      [['completions', { model: 'm', prompt: [] }], 'prompt', 'invalid_type'],
      [['completions', { model: 'm', prompt: 'x', suffix: 3 }], 'suffix', 'invalid_type'],
      [['embeddings', { model: 'm' }], 'input', 'missing_required_parameter'],
      [['embeddings', { model: 'm', input: [1.5] }], 'input', 'invalid_type'],
    ];
    for (const [args, param, code] of cases) {
      const problem = validateRequest(...args);
      assert.ok(problem, `expected a problem for ${JSON.stringify(args[1])}`);
      assert.equal(problem.param, param, JSON.stringify(args[1]));
      assert.equal(problem.code, code, JSON.stringify(args[1]));
      assert.ok(problem.message.length > 10);
    }
  });
});

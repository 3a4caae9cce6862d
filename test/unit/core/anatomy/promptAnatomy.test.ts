import assert from 'node:assert/strict';
import fc from 'fast-check';
import { questionText, readAnatomy } from '../../../../src/core/anatomy/promptAnatomy';
import { identifyRequest } from '../../../../src/core/cacheKey';
import type { JsonObject } from '../../../../src/core/types';

const env = (time: string) =>
  `<environment_details>\n# Visual Studio Code Visible Files\nsrc/db/pool.ts\n\n# Current Time\n${time}\n\n# Current Mode\nACT MODE\n</environment_details>`;
const clineFirstTurn = (question: string, time = '12/3/2026, 10:14:27 AM'): JsonObject => ({
  model: 'm',
  messages: [
    { role: 'system', content: 'You are Cline, a highly skilled software engineer.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: `<task>\n${question}\n</task>` },
        { type: 'text', text: env(time) },
      ],
    },
  ],
});
const asked = (body: JsonObject) => {
  const question = readAnatomy('chat.completions', body).question;
  return question && questionText(question).text.trim();
};

describe('prompt anatomy', () => {
  it('finds the task in a Cline request, and the clock in its environment details', () => {
    const body = clineFirstTurn('What is the difference between a pool and a client?');
    const anatomy = readAnatomy('chat.completions', body);
    assert.equal(anatomy.tool, 'cline');
    assert.equal(anatomy.wrapped, true);
    assert.equal(asked(body), 'What is the difference between a pool and a client?');
    assert.deepEqual(
      anatomy.volatile.map((mask) => [mask.path.join('.'), mask.values.map((value) => value.kind)]),
      [['messages.1.content.1.text', ['time']]],
    );
  });

  it('goes back to the task on an agent’s later turn, whose last message holds only a tool result', () => {
    const body = clineFirstTurn('Refactor src/db/pool.ts to use a singleton');
    (body.messages as JsonObject[]).push(
      { role: 'assistant', content: '<read_file>\n<path>src/db/pool.ts</path>\n</read_file>' },
      {
        role: 'user',
        content: [
          { type: 'text', text: "[read_file for 'src/db/pool.ts'] Result:\n1 | export {}" },
          { type: 'text', text: env('12/3/2026, 10:15:01 AM') },
        ],
      },
    );
    const anatomy = readAnatomy('chat.completions', body);
    assert.equal(anatomy.question?.field, 'messages[1].content');
    assert.equal(asked(body), 'Refactor src/db/pool.ts to use a singleton');
    assert.equal(anatomy.volatile.length, 2);
  });

  it('reads a request with no tool’s shape as it always did: the last user message, whole', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'Fix this:\n```js\nx\n```' }] };
    const anatomy = readAnatomy('chat.completions', body);
    assert.equal(anatomy.wrapped, false);
    assert.equal(asked(body), 'Fix this:\n```js\nx\n```');
    assert.equal(anatomy.question?.blocks[0]?.kind, 'attached-code');
  });

  it('names the tool from its system prompt, then from its headers, and a script on the SDK as such', () => {
    const plain = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
    assert.equal(readAnatomy('chat.completions', plain, { userAgent: 'RooCode/3.52.1', title: 'Roo Code' }).tool, 'roo-code');
    assert.equal(readAnatomy('chat.completions', plain, { userAgent: 'OpenAI/Python 2.24.0' }).tool, 'openai-sdk');
    assert.equal(readAnatomy('chat.completions', clineFirstTurn('q'), { userAgent: 'OpenAI/JS 6.21.0' }).tool, 'cline');
    assert.equal(readAnatomy('chat.completions', plain).tool, 'unknown');
    assert.equal(
      readAnatomy('completions', {
        model: 'm',
        prompt: '/* Language: Typescript (typescript) */\n/* File uri: file:///a.ts (typescript) */\nconst x',
      }).tool,
      'twinny',
    );
  });

  it('masks tool-call ids by their order, so a replayed conversation keys the same and a re-paired one does not', () => {
    const conversation = (first: string, second: string, answered: string): JsonObject => ({
      model: 'm',
      messages: [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: first, type: 'function', function: { name: 'a', arguments: '{}' } },
            { id: second, type: 'function', function: { name: 'b', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: answered, content: 'result' },
      ],
    });
    const key = (body: JsonObject) => identifyRequest('chat.completions', 't', body, readAnatomy('chat.completions', body).volatile).key;
    const a = 'chatcmpl-tool-0123456789abcdef0123456789abcdef';
    const b = 'chatcmpl-tool-fedcba9876543210fedcba9876543210';
    const c = 'chatcmpl-tool-aaaaaaaaaaaaaaaa1111111111111111';
    const d = 'chatcmpl-tool-bbbbbbbbbbbbbbbb2222222222222222';
    assert.equal(key(conversation(a, b, a)), key(conversation(c, d, c)));
    assert.notEqual(key(conversation(a, b, a)), key(conversation(c, d, d)));
  });

  it('reads any text built from the shapes tools use, and never throws or hangs', () => {
    const pieces = fc.constantFrom(
      '<task>',
      '</task>',
      '<environment_details>',
      '</environment_details>',
      '<user_message>',
      '</user_message>',
      '\n',
      '```',
      '```ts src/a.ts',
      '~~~',
      '# Current Time',
      '# Current Cost',
      '- Current date: 2026-01-01',
      "[read_file for 'a'] Result:",
      'EXECUTION RESULT of [x]:',
      '<|im_start|>user\n',
      '<|im_end|>',
      '--------------------- NEW TASK DESCRIPTION ---------------------',
      '--------------------- END OF NEW TASK DESCRIPTION ---------------------',
      '<|fim_prefix|>',
      '<|fim_suffix|>',
      '<|fim_middle|>',
      '[SUFFIX]',
      '[PREFIX]',
      'Selected Code:',
      'And here is the user question:',
      'Reply in English.',
      'localhost:51234',
      '12:30',
      'What is a pool?',
      'Fix the failing test',
      ' ',
      '#',
      '<',
      '[',
      '0',
    );
    const texts = fc.array(pieces, { maxLength: 60 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.array(texts, { minLength: 1, maxLength: 3 }), texts, (parts, system) => {
        const body = {
          model: 'm',
          messages: [
            { role: 'system', content: system },
            { role: 'user', content: parts.map((text) => ({ type: 'text', text })) },
          ],
        };
        const anatomy = readAnatomy('chat.completions', body);
        const question = anatomy.question;
        if (question)
          for (const region of question.regions)
            assert.ok(region.start >= 0 && region.end <= question.text.length && region.start < region.end);
        identifyRequest('chat.completions', 't', body, anatomy.volatile);
        readAnatomy('completions', { model: 'm', prompt: parts.join('') });
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on malformed bodies', () => {
    const odd: JsonObject[] = [
      {},
      { messages: 'x' },
      { messages: [null, 1, 'x', { role: 'user' }, { role: 'user', content: [null, { type: 'image_url' }, { text: 5 }] }] },
      {
        messages: [
          { role: 'system', content: [{ text: '# Current Time\n' }] },
          { role: 'user', content: '<task>\n' },
        ],
      },
      { prompt: [1, 2, 3] },
    ];
    for (const body of odd) {
      assert.doesNotThrow(() => readAnatomy('chat.completions', body));
      assert.doesNotThrow(() => readAnatomy('completions', body));
      assert.doesNotThrow(() => identifyRequest('chat.completions', 't', body, readAnatomy('chat.completions', body).volatile));
    }
  });
});

describe('keys with volatile values masked', () => {
  const key = (body: JsonObject, normalize = true) =>
    identifyRequest('chat.completions', 't', body, normalize ? readAnatomy('chat.completions', body).volatile : []);

  it('share a key across sessions that differ only in the clock, and say what was masked', () => {
    const a = key(clineFirstTurn('What is a pool?', '12/3/2026, 10:14:27 AM'));
    const b = key(clineFirstTurn('What is a pool?', '12/5/2026, 4:47:03 PM'));
    assert.equal(a.key, b.key);
    assert.deepEqual(a.normalized, ['time']);
    assert.notEqual(key(clineFirstTurn('What is a pool?', 'x 1'), false).key, key(clineFirstTurn('What is a pool?', 'x 2'), false).key);
  });

  it('never merge requests that differ in the question or anywhere outside the masked values', () => {
    const base = key(clineFirstTurn('What is a pool?')).key;
    assert.notEqual(key(clineFirstTurn('What is a pool!')).key, base);
    const otherFile = clineFirstTurn('What is a pool?');
    const parts = (otherFile.messages as JsonObject[])[1]!.content as JsonObject[];
    parts[1]!.text = String(parts[1]!.text).replace('src/db/pool.ts', 'src/db/poo1.ts');
    assert.notEqual(key(otherFile).key, base);
  });

  it('tell a masked value from text that only reads like its mask', () => {
    const withSystem = (system: string): JsonObject => ({
      model: 'm',
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: 'What is a pool?' },
      ],
    });
    // The first has a date masked; the second writes the mask's text itself and masks nothing: the same text once masked.
    const masked = key(withSystem('- Current date: 2026-12-03\nsee \u27e6date\u27e7'));
    const posing = key(withSystem('- Current date: \u27e6date\u27e7\nsee \u27e6date\u27e7'));
    assert.deepEqual([masked.normalized, posing.normalized], [['date'], []]);
    assert.notEqual(masked.key, posing.key);
  });
});

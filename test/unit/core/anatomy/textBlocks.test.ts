import assert from 'node:assert/strict';
import { readText, type TextReading } from '../../../../src/core/anatomy/textBlocks';

const questionOf = (text: string, reading: TextReading = readText(text)) =>
  reading.question.map((region) => text.slice(region.start, region.end));
const blocksOf = (text: string) => readText(text).blocks.map((block) => [block.kind, block.name, block.known]);

describe('readText', () => {
  it('reads the question in a task tag and the environment details after it', () => {
    const text =
      '<task>\nWhat is a connection pool?\n</task>\n<environment_details>\n# Current Time\n12/3/2026, 10:14:27 AM\n</environment_details>';
    assert.deepEqual(questionOf(text), ['What is a connection pool?']);
    assert.deepEqual(blocksOf(text), [['environment', 'environment_details', true]]);
    assert.equal(readText(text).tagged, true);
  });

  it('reads Roo’s user_message tag the same way, and a file attached after the task as code', () => {
    const text =
      '<user_message>\nExplain \'src/lib/retry.ts\'\n</user_message>\n<file_content path="src/lib/retry.ts">\nexport function retry() {}\n</file_content>';
    assert.deepEqual(questionOf(text), ["Explain 'src/lib/retry.ts'"]);
    assert.deepEqual(blocksOf(text), [['attached-code', 'file_content', true]]);
  });

  it('takes the words between blocks as the question when no tag holds it', () => {
    const text = '```ts src/db/pool.ts (1-3)\nconst x = 1;\n```\nExplain what this function does';
    assert.deepEqual(questionOf(text), ['Explain what this function does']);
    assert.deepEqual(blocksOf(text), [['attached-code', 'ts src/db/pool.ts (1-3)', true]]);
  });

  it('tells a tool attaching a file by its path from a user pasting code', () => {
    assert.equal(readText('```src/users/userService.ts\nx\n```\nq').blocks[0]?.known, true);
    assert.equal(readText('```python\nx\n```\nq').blocks[0]?.known, false);
  });

  it('reads tool results up to the next block the tool opens', () => {
    const text =
      "[read_file for 'src/a.ts'] Result:\n1 | const a = 1;\n<environment_details>\n# Current Mode\nACT MODE\n</environment_details>";
    const reading = readText(text);
    assert.deepEqual(questionOf(text, reading), []);
    assert.deepEqual(blocksOf(text), [
      ['tool-result', "[read_file for 'src/a.ts'] Result:", true],
      ['environment', 'environment_details', true],
    ]);
  });

  it('reads code pasted into a task as attached code, and keeps the task’s words as the question', () => {
    const text = '<task>\nWhy does this throw?\n```js\nnull.x\n```\n</task>';
    assert.deepEqual(questionOf(text), ['Why does this throw?']);
    assert.equal(readText(text).blocks[0]?.kind, 'attached-code');
  });

  it('reads a conversation rendered with ChatML: the question is the last user turn', () => {
    const text =
      '<|im_start|>system\nYou help.<|im_end|>\n<|im_start|>user\nfirst<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n<|im_start|>user\nWhat is a B-tree?<|im_end|>\n<|im_start|>assistant\n';
    assert.deepEqual(questionOf(text), ['What is a B-tree?']);
    assert.equal(readText(text).blocks.filter((block) => block.kind === 'context').length, 4);
  });

  it('reads OpenHands’ task between its rulers, aider’s appended rules, and a tool’s lead-in to the question', () => {
    const openhands =
      'Example...\n--------------------- NEW TASK DESCRIPTION ---------------------\nAdd a /health endpoint\n--------------------- END OF NEW TASK DESCRIPTION ---------------------\n\nPLEASE follow the format strictly!';
    assert.deepEqual(questionOf(openhands), ['Add a /health endpoint']);
    const aider =
      'What does query() do?\n\n# *SEARCH/REPLACE block* Rules:\n\nEvery *SEARCH/REPLACE block* must use this format: fix, refactor...';
    assert.deepEqual(questionOf(aider), ['What does query() do?']);
    assert.deepEqual(questionOf('Where is the pool created?\n\nReply in English.\n'), ['Where is the pool created?']);
    const tabby =
      'Answer from the contexts. Cite [[citation:x]].\n\n[[citation:1]]\n```ts\nfix this\n```\nAnd here is the user question:\n\nWhy is the cast safe?\n';
    assert.deepEqual(questionOf(tabby), ['Why is the cast safe?']);
  });

  it('reads twinny’s labelled context and a command template’s unfenced code as attached', () => {
    const twinny = 'Review this for bugs\n\nSelected Code:\nconst a = 1;\n\nFile Contents:\nFile: pool.ts\n\nexport {}';
    assert.deepEqual(questionOf(twinny), ['Review this for bugs']);
    assert.deepEqual(
      readText(twinny).blocks.map((block) => block.name),
      ['Selected Code:', 'File Contents:'],
    );
    const template = 'Explain the following code concisely:\nfunction fix() { throw new Error() }\nThe language is:\nTypescript';
    assert.deepEqual(questionOf(template), ['Explain the following code concisely:']);
  });

  it('reads unclosed tags and fences as plain text', () => {
    const text = '<task>\nWhat is a pool?\n<environment_details>\n# Current Time\nnow';
    assert.deepEqual(questionOf(text), [text]);
    assert.deepEqual(readText('```js\nunclosed').blocks, []);
  });

  it('never throws and stays linear on hostile shapes', () => {
    const manyOpenings = '<a>\n'.repeat(100_000);
    assert.equal(readText(manyOpenings).blocks.length, 0);
    const fences = '````x\n```\n'.repeat(50_000) + '~~~y\n' + '```\n'.repeat(50_000);
    assert.doesNotThrow(() => readText(fences));
    const huge = `<task>\nq\n</task>\n<environment_details>\n${'# Visible Files\nsrc/a.ts\n'.repeat(60_000)}</environment_details>`;
    assert.ok(huge.length > 1_000_000);
    assert.deepEqual(questionOf(huge), ['q']);
    const nested = '<task>\n<task>\n<task>\nq\n</task>\n</task>\n</task>';
    assert.doesNotThrow(() => readText(nested));
    for (const odd of ['', '\n\n\n', '<', '<>\n</>', '```', '[x] Result:', '\u0000<task>\u0000</task>', '<task>\n</task>'])
      assert.doesNotThrow(() => readText(odd));
  });
});

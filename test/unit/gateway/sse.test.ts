import assert from 'node:assert/strict';
import { SseParser, sseFrame } from '../../../src/gateway/sse';

describe('SseParser', () => {
  it('parses events split at any byte, with LF or CRLF', () => {
    const wire = Buffer.from('data: {"a":1}\n\n: comment\r\ndata: line1\r\ndata: line2\r\n\r\nevent: ping\ndata: é\n\ndata: [DONE]\n\n');
    for (let cut = 1; cut < wire.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(wire.subarray(0, cut)), ...parser.push(wire.subarray(cut)), ...parser.end()];
      assert.deepEqual(
        events.map((event) => [event.event, event.data]),
        [
          [undefined, '{"a":1}'],
          [undefined, 'line1\nline2'],
          ['ping', 'é'],
          [undefined, '[DONE]'],
        ],
        `cut at ${cut}`,
      );
    }
  });

  it('flushes a last event without a trailing blank line', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('data: x'), []);
    assert.deepEqual(parser.end(), [{ data: 'x', event: undefined }]);
  });

  it('frames multi-line data so it parses back the same', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push(sseFrame('a\nb', 'error')), [{ data: 'a\nb', event: 'error' }]);
  });
});

import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, readReply, type TeamMessage } from '../../../../src/core/team/teamStream';

const ID = '0123456789abcdef0123456789abcdef';

describe('team stream messages', () => {
  const roundTrip = (message: TeamMessage) => decodeMessage('1700000000000-3', encodeMessage(message, 'gateway-1'));

  it('carries a put with its vector exactly (int8 codes and scale)', () => {
    const codes = Int8Array.from([127, -128, 0, 5, -7]);
    const decoded = roundTrip({
      op: 'put',
      id: ID,
      expiresAt: 1_800_000_000_000,
      partition: 'p:abc',
      space: 'model#q8',
      vector: { codes, scale: 0.0123 },
    });
    assert.ok(decoded);
    assert.equal(decoded.origin, 'gateway-1');
    assert.equal(decoded.at, 1_700_000_000_000);
    assert.equal(decoded.streamId, '1700000000000-3');
    const message = decoded.message;
    assert.equal(message.op, 'put');
    if (message.op !== 'put') return;
    assert.deepEqual([...message.vector!.codes], [...codes]);
    assert.equal(message.vector!.scale, 0.0123);
    assert.equal(message.partition, 'p:abc');
    assert.equal(message.space, 'model#q8');
    assert.equal(message.expiresAt, 1_800_000_000_000);
  });

  it('carries a put without a vector, a del and a clear', () => {
    const put = roundTrip({ op: 'put', id: ID, expiresAt: 5, partition: 'p', space: '' });
    assert.deepEqual(put?.message, { op: 'put', id: ID, expiresAt: 5, partition: 'p', space: '' });
    assert.deepEqual(roundTrip({ op: 'del', ids: [ID, ID.replace('0', 'f')] })?.message, { op: 'del', ids: [ID, ID.replace('0', 'f')] });
    assert.deepEqual(roundTrip({ op: 'clear' })?.message, { op: 'clear' });
  });

  it('carries what an exploration learned, and refuses an observation it cannot read', () => {
    const observation: TeamMessage = {
      op: 'obs',
      entryId: ID,
      group: 'model#q8|chat.completions',
      similarity: 0.8765,
      correct: true,
      at: 1_700_000_000_123,
    };
    assert.deepEqual(roundTrip(observation)?.message, observation);
    const fields = encodeMessage({ ...observation, correct: false }, 'g');
    assert.equal((decodeMessage('1-0', fields)?.message as { correct: boolean }).correct, false);
    const broken = (key: string, value: string) => {
      const copy = [...fields];
      copy[copy.indexOf(key) + 1] = value;
      return decodeMessage('1-0', copy);
    };
    for (const [key, value] of [
      ['s', '1.5'],
      ['s', 'x'],
      ['ok', 'yes'],
      ['group', 'nogroup'],
      ['id', 'nothex'],
      ['at', 'soon'],
    ] as const)
      assert.equal(broken(key, value), undefined, `${key}=${value}`);
  });

  it('refuses what it cannot trust: other formats, bad ids, missing fields, odd field lists', () => {
    const good = encodeMessage({ op: 'del', ids: [ID] }, 'g');
    const withField = (key: string, value: string) => {
      const fields = [...good];
      const at = fields.indexOf(key);
      fields[at + 1] = value;
      return fields;
    };
    assert.equal(decodeMessage('1-0', withField('v', '2')), undefined, 'a newer format');
    assert.equal(decodeMessage('1-0', withField('ids', '../../etc/passwd')), undefined, 'no valid id');
    assert.equal(decodeMessage('1-0', withField('op', 'drop-table')), undefined, 'an unknown op');
    assert.equal(decodeMessage('x-0', good), undefined, 'a stream id that is no time');
    assert.equal(decodeMessage('1-0', ['v', '1', 'op']), undefined, 'an odd list');
    const put = encodeMessage(
      { op: 'put', id: ID, expiresAt: 1, partition: 'p', space: 's', vector: { codes: Int8Array.of(1), scale: 1 } },
      'g',
    );
    const noScale = [...put];
    noScale[noScale.indexOf('scale') + 1] = 'NaN';
    const decoded = decodeMessage('1-0', noScale);
    assert.ok(
      decoded && decoded.message.op === 'put' && decoded.message.vector === undefined,
      'a vector without a scale is dropped, the put kept',
    );
    const noPartition = put.filter((_, i) => i !== put.indexOf('part') && i !== put.indexOf('part') + 1);
    assert.equal(decodeMessage('1-0', noPartition), undefined);
  });

  it('reads XREAD replies, skipping malformed items', () => {
    const reply = [['deja:t:stream', [['1-0', ['v', '1']], 'junk', [Buffer.from('2-0'), ['a', 'b']], ['3-0', 'not a list']]]];
    assert.deepEqual(readReply(reply), [
      { id: '1-0', fields: ['v', '1'] },
      { id: '2-0', fields: ['a', 'b'] },
    ]);
    assert.deepEqual(readReply(null), []);
  });
});

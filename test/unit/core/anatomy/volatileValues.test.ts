import assert from 'node:assert/strict';
import { findVolatileValues } from '../../../../src/core/anatomy/volatileValues';

const found = (text: string, ports = false) =>
  findVolatileValues(text, 0, text.length, { ports }).map((value) => [value.kind, text.slice(value.start, value.end)]);

describe('volatile values', () => {
  it('masks the whole body of the clock, cost and usage sections, and nothing else', () => {
    const env =
      '# Visual Studio Code Visible Files\nsrc/db/pool.ts\n\n# Current Time\n12/3/2026, 10:14:27 AM (Europe/Berlin, UTC+1:00)\n\n# Current Cost\n$0.01\n\n# Context Window Usage\n10,347 / 128K tokens used (8%)\n\n# Current Mode\nACT MODE';
    assert.deepEqual(found(env), [
      ['time', '12/3/2026, 10:14:27 AM (Europe/Berlin, UTC+1:00)'],
      ['cost', '$0.01'],
      ['usage', '10,347 / 128K tokens used (8%)'],
    ]);
  });

  it('masks labelled lines and dates in prose, English and Russian', () => {
    assert.deepEqual(found('- Platform: Linux\n- Current date: 2026-12-03\n- Shell: bash'), [['date', '2026-12-03']]);
    assert.deepEqual(found("Today's date is 2026-12-03 (UTC)."), [['date', '2026-12-03']]);
    assert.deepEqual(found('You write standups. Today is Thursday, December 3, 2026.'), [
      ['date', 'Thursday,'],
      ['date', 'December 3, 2026'],
    ]);
    assert.deepEqual(found('Ты помощник. Текущее время: 03.12.2026 10:14.'), [
      ['date', '03.12.2026'],
      ['time', '10:14'],
    ]);
  });

  it('masks ports on this machine only where asked (a runtime’s ephemeral ports)', () => {
    const runtime = '* http://localhost:51234 (port 51234)\n* http://localhost:56234 (port 56234)';
    assert.deepEqual(
      found(runtime, true).map(([kind]) => kind),
      ['port', 'port', 'port', 'port'],
    );
    assert.deepEqual(found(runtime, false), []);
  });

  it('leaves numbers that are not the moment alone', () => {
    assert.deepEqual(found('Release 2026-12-03 added pool.end()\nmax: 20\nVersion 16.4'), []);
  });
});

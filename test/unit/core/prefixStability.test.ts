import assert from 'node:assert/strict';
import { PrefixStabilityTracker, templateOf } from '../../../src/core/prefixStability';

describe('prefix stability', () => {
  it('masks timestamps, dates, ids and long numbers', () => {
    const { template, kinds } = templateOf(
      'You are helpful. Now: 2026-11-25T10:00:03Z. Request 3f2b1c9e-1111-4aaa-8bbb-1234567890ab, user 12345678.',
    );
    assert.equal(template, 'You are helpful. Now: <timestamp>. Request <uuid>, user <number>.');
    assert.deepEqual(kinds, ['timestamp', 'uuid', 'number']);
  });

  it('flags a model whose system prompts differ only by volatile parts, and not one with a stable prompt', () => {
    const tracker = new PrefixStabilityTracker();
    for (let i = 0; i < 5; i++) tracker.observe('drifting', `You are a helpful assistant. The time is 2026-11-25 10:0${i}:00.`);
    for (let i = 0; i < 5; i++) tracker.observe('stable', 'You are a helpful assistant.');
    tracker.observe('two-personas', 'You are a pirate.');
    tracker.observe('two-personas', 'You are a lawyer.');
    const report = Object.fromEntries(tracker.report().map((row) => [row.model, row]));
    assert.deepEqual([report.drifting!.distinct, report.drifting!.templates, report.drifting!.volatile], [5, 1, true]);
    assert.deepEqual(report.drifting!.volatileKinds, ['timestamp']);
    assert.deepEqual([report.stable!.distinct, report.stable!.volatile], [1, false]);
    assert.deepEqual(
      [report['two-personas']!.distinct, report['two-personas']!.templates, report['two-personas']!.volatile],
      [2, 2, false],
    );
  });
});

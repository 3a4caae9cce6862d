import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSet, requestFor } from '../../../../scripts/evalPolicy';
import { Policy } from '../../../../src/core/policy/policy';

/**
 * Every prompt of the labelled policy sets decides as it did before the policy learned to
 * read tools' wrapping (commit e91f69d), except where it now agrees with the prompt's label:
 * reading real dev-tool traffic must never make the policy cache what it refused, nor refuse
 * what it rightly cached, on clean prompts. The improvements are listed, not hidden.
 */
describe('policy decisions on the labelled sets', () => {
  const before = JSON.parse(readFileSync(join(__dirname, '../../../fixtures/policy-decisions.json'), 'utf8')) as Record<string, string>;
  const policy = new Policy();
  const now = new Date('2026-11-25T12:00:00Z');

  for (const set of ['dev', 'dev2', 'test']) {
    it(`decide as before on policy-${set}.jsonl, or now as labelled`, () => {
      const worse: string[] = [];
      for (const item of readSet(set)) {
        const decision = policy.classify({ ...requestFor(item), now });
        const reason = decision.cacheable ? 'cacheable' : decision.reason;
        const labelled = reason === item.label || (item.also ?? []).includes(reason);
        if (reason !== before[item.id] && !labelled) worse.push(`${item.id}: ${before[item.id]} -> ${reason} (labelled ${item.label})`);
      }
      assert.deepEqual(worse, []);
    });
  }
});

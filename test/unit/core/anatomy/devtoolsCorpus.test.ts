import assert from 'node:assert/strict';
import { judge, keysOf, laterSessions } from '../../../../scripts/evalDevtools';
import { readAnatomy } from '../../../../src/core/anatomy/promptAnatomy';
import { Policy } from '../../../../src/core/policy/policy';
import { allCases, DEVTOOL_MODULES } from '../../../fixtures/devtools/index';
import type { DevtoolRequest } from '../../../fixtures/devtools/types';
import { SESSION_A, SESSION_B } from '../../../fixtures/devtools/workspace';

/** The request with one character changed at `at` in the string at `path`. */
function mutated(request: DevtoolRequest, path: ReadonlyArray<string | number>, at: number): DevtoolRequest {
  const body = structuredClone(request.body) as Record<string, unknown>;
  let node: Record<string | number, unknown> = body;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  const text = node[last] as string;
  node[last] = text.slice(0, at) + (text[at] === 'x' ? 'y' : 'x') + text.slice(at + 1);
  return { ...request, body: body as DevtoolRequest['body'] };
}

describe('the dev-tool corpus', () => {
  const cases = allCases();

  it('holds at least 150 labelled requests from every tool, in English and Russian, each tool citing its sources at a commit', () => {
    assert.ok(cases.length >= 150, `${cases.length} cases`);
    assert.equal(new Set(cases.map(({ c }) => c.id)).size, cases.length, 'case ids are unique');
    for (const module of DEVTOOL_MODULES) {
      assert.ok(module.cases.length >= 10, `${module.tool} has ${module.cases.length} cases`);
      assert.ok(
        module.sources.length > 0 &&
          module.sources.every((source) => /^[0-9a-f]{40}$/.test(source.commit) && source.repo.includes('/') && source.path !== ''),
        `${module.tool} cites its sources`,
      );
      assert.ok(
        module.cases.some((c) => c.split === 'test') && module.cases.some((c) => c.split === 'dev'),
        `${module.tool} keeps a held-out part`,
      );
    }
    assert.ok(cases.some(({ c }) => c.lang === 'ru') && cases.some(({ c }) => c.lang === 'en'));
  });

  it('builds every case the same way twice (the builders are pure)', () => {
    for (const { module, c } of cases) assert.deepEqual(module.build(c, SESSION_A), module.build(c, SESSION_A), c.id);
  });

  it('keys a later session of the same workspace the same: every pair that differs only in the clock, cost, ports or ids hits', () => {
    const later = laterSessions();
    assert.ok(later.differing >= 30, `${later.differing} pairs differ between sessions`);
    assert.deepEqual(later.misses, []);
    assert.equal(later.partitionHits, later.partitionPairs);
  });

  it('never merges two cases: every exact key belongs to one case, in either session', () => {
    const owners = new Map<string, string>();
    for (const { module, c } of cases) {
      for (const session of [SESSION_A, SESSION_B]) {
        const { key } = keysOf(module.build(c, session));
        const owner = owners.get(key);
        assert.ok(owner === undefined || owner === c.id, `${c.id} shares its key with ${owner}`);
        owners.set(key, c.id);
      }
    }
  });

  it('never masks the question, and a change anywhere outside the masked values changes the key', () => {
    let checked = 0;
    for (const { module, c } of cases) {
      const request = module.build(c, SESSION_A);
      const endpoint = request.endpoint === '/v1/completions' ? 'completions' : 'chat.completions';
      const anatomy = readAnatomy(endpoint, request.body);
      const question = anatomy.question;
      const before = keysOf(request);
      for (const mask of anatomy.volatile) {
        const field = mask.path.slice(0, 3).join('.');
        // In the question's own field, no mask may touch the question's words.
        if (question && `messages.${/\d+/.exec(question.field)?.[0]}.content` === field && mask.path.length === 3) {
          for (const value of mask.values)
            for (const region of question.regions)
              assert.ok(value.end <= region.start || value.start >= region.end, `${c.id} masks its question`);
        }
        // A letter of the same string away from every masked value: changing it changes the key.
        const text = mask.path.reduce<unknown>((node, step) => (node as Record<string | number, unknown>)[step], request.body) as string;
        const near = (at: number) => mask.values.some((value) => at >= value.start - 3 && at < value.end + 3);
        let at = -1;
        for (let i = 0; i < text.length && at === -1; i++) if (/[A-Za-z]/.test(text[i]!) && !near(i)) at = i;
        if (at !== -1 && mask.values[0]!.kind !== 'id') {
          const after = keysOf(mutated(request, mask.path, at));
          assert.notEqual(after.key, before.key, `${c.id}: a change next to a masked value`);
          if (before.partition !== undefined)
            assert.notEqual(after.partition, before.partition, `${c.id}: the same change in the partition`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 30, `${checked} masked values checked`);
  });

  it('decides as labelled on the cases the rules were tuned on (a regression guard: ≥ 95% cache vs skip, ≥ 90% with the reason)', () => {
    const policy = new Policy();
    const dev = cases.filter(({ c }) => c.split === 'dev').map(({ module, c }) => judge(module, c, policy));
    const decision = dev.filter(({ c, predicted }) => (c.expected === 'cacheable') === (predicted === 'cacheable')).length / dev.length;
    const reason =
      dev.filter(({ c, predicted }) => predicted === c.expected || (c.also ?? []).includes(predicted as never)).length / dev.length;
    assert.ok(decision >= 0.95, `cache vs skip ${decision}`);
    assert.ok(reason >= 0.9, `reason ${reason}`);
  });
});

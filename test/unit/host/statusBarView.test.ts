import assert from 'node:assert/strict';
import { statusBarView } from '../../../src/host/statusBarView';
import type { GatewayStatusDto, TeamStatusDto, StatsDto } from '../../../src/shared/protocol';

const running: GatewayStatusDto = { state: 'running', url: 'http://127.0.0.1:8787', message: null, owned: true };

function stats(teamStatus: TeamStatusDto | null, teamHits = 0): StatsDto {
  return {
    window: { from: 0, to: 1 },
    requests: 40,
    exactHits: 20,
    semanticHits: 10,
    teamHits,
    misses: 10,
    skipped: 0,
    bypassed: 0,
    hitRate: 0.75,
    exactHitRate: 0.5,
    semanticHitRate: 0.25,
    byModel: [],
    byTool: [],
    skippedByReason: {},
    latency: { hits: { count: 30, p50: 1, p99: 2 }, misses: { count: 10, p50: 100, p99: 200 } },
    savings: { requestsNotSent: 0.75, promptTokensSaved: 1000, completionTokensSaved: 234 },
    staleness: { revalidated: 0, stale: 0, rate: null },
    semanticChecks: { explorations: 0, judged: 0, falseHits: 0, falseHitRate: null, falseHitInterval: null },
    timeline: [],
    cache: { entries: 12, vectors: 12, caching: true },
    shared: teamStatus,
    semantic: {
      state: 'ready',
      model: 'm',
      threshold: 0.95,
      mode: 'verified',
      maxFalseHitRate: 0.02,
      judge: 'embedding',
      judgeCost: null,
      judgeCheck: null,
      learned: [],
    },
    vllm: {} as StatsDto['vllm'],
    prefixStability: [],
    volatileUserParts: [],
  };
}

const team = (state: TeamStatusDto['state'], reason: string | null = null): TeamStatusDto => ({
  state,
  team: 'platform',
  url: 'redis://:***@cache:6379',
  reason,
  since: 0,
  applied: 3,
  lastAppliedAt: null,
});

describe('statusBarView', () => {
  it('shows the hit rate and says nothing of a team when there is none', () => {
    const view = statusBarView(running, stats(null));
    assert.equal(view.text, '$(database) Deja 75%');
    assert.equal(view.background, undefined);
    assert.match(view.tooltip, /OpenAI base URL: `http:\/\/127\.0\.0\.1:8787\/v1`/);
    assert.match(view.tooltip, /40 requests, 30 hits \(75%; 10 semantic\), 1,234 tokens saved/);
    assert.doesNotMatch(view.tooltip, /[Tt]eam/);
  });

  it('counts team hits and names the team while sharing', () => {
    const view = statusBarView(running, stats(team('connected'), 7));
    assert.equal(view.text, '$(database) Deja 75%');
    assert.match(view.tooltip, /10 semantic, 7 from the team\)/);
    assert.match(view.tooltip, /Team cache: sharing with team `platform` at `redis:\/\/:\*\*\*@cache:6379`/);
  });

  it('warns, without alarm, while the team cache is down', () => {
    const view = statusBarView(running, stats(team('down', 'connection refused')));
    assert.equal(view.text, '$(warning) Deja 75%');
    assert.equal(view.background, 'warning');
    assert.match(view.tooltip, /Team cache down \(connection refused\): working on this machine only/);
    const attached = statusBarView({ ...running, state: 'attached', owned: false }, stats(team('down')));
    assert.equal(attached.text, '$(warning) Deja 75%');
    assert.match(attached.tooltip, /started by another window/);
  });

  it('lets an error outrank the team warning, and ignores stale stats once the gateway is off', () => {
    const error = statusBarView({ state: 'error', url: null, message: 'port 8787 is taken', owned: true }, stats(team('down')));
    assert.equal(error.text, '$(error) Deja');
    assert.equal(error.background, 'error');
    assert.match(error.tooltip, /port 8787 is taken/);
    assert.doesNotMatch(error.tooltip, /Team cache/);
    const off = statusBarView({ state: 'off', url: null, message: null, owned: false }, undefined);
    assert.equal(off.text, '$(circle-slash) Deja off');
    assert.doesNotMatch(off.tooltip, /Last hour/);
  });

  it('keeps a backtick in a team name from breaking the tooltip', () => {
    const view = statusBarView(running, stats({ ...team('connected'), team: 'a`b' }));
    assert.match(view.tooltip, /team `a'b`/);
  });
});

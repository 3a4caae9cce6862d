import assert from 'node:assert/strict';
import type { AdminClient } from '../../../src/host/adminClient';
import { DashboardSession } from '../../../src/host/dashboardSession';
import type {
  EntryDetailDto,
  EntryPageDto,
  EntryQueryDto,
  GatewayStatusDto,
  HostToWebview,
  LiveEventDto,
  RequestEventDto,
  SkippedPageDto,
  StatsDto,
  WebviewToHost,
} from '../../../src/shared/protocol';
import { FakeClock, settle } from './fakes';

type Call = [method: string, ...args: unknown[]];

/** Stand-ins for the admin API's answers; only their identity matters here. */
const STATS = { requests: 3 } as unknown as StatsDto;
const PAGE: EntryPageDto = { total: 1, offset: 0, items: [] };
const SKIPPED: SkippedPageDto = { total: 0, offset: 0, items: [] };
const ENTRY = { id: 'e1' } as unknown as EntryDetailDto;
const RUNNING: GatewayStatusDto = { state: 'running', url: 'http://127.0.0.1:8787', message: null, owned: true };
const DEFAULT_QUERY: EntryQueryDto = { sort: 'created', order: 'desc', offset: 0, limit: 50 };

/** An admin client that records its calls; `fail` makes a method reject. */
function fakeAdmin() {
  const calls: Call[] = [];
  const fail = new Map<string, Error>();
  const answer = async <T>(method: string, args: unknown[], value: T): Promise<T> => {
    calls.push([method, ...args]);
    const error = fail.get(method);
    if (error) throw error;
    return value;
  };
  const admin = {
    stats: (window: string) => answer('stats', [window], STATS),
    entries: (query: EntryQueryDto) => answer('entries', [query], PAGE),
    entry: (id: string) => answer('entry', [id], ENTRY),
    evict: (ids: string[]) => answer('evict', [ids], { evicted: ids.length }),
    evictMatching: (filter: unknown) => answer('evictMatching', [filter], { evicted: 7 }),
    clear: () => answer('clear', [], { evicted: 9 }),
    skipped: (reason: string | null, offset: number, limit: number) => answer('skipped', [reason, offset, limit], SKIPPED),
    setCaching: (enabled: boolean) => answer('setCaching', [enabled], { enabled }),
  };
  return { admin: admin as unknown as AdminClient, calls, fail, methods: () => calls.map((call) => call[0]) };
}

function setup(options: { admin?: boolean; confirm?: boolean } = {}) {
  const clock = new FakeClock();
  const fake = fakeAdmin();
  const posts: HostToWebview[] = [];
  let hasAdmin = options.admin ?? true;
  let starts = 0;
  const questions: string[] = [];
  const session = new DashboardSession({
    post: (message) => void posts.push(message),
    admin: () => (hasAdmin ? fake.admin : undefined),
    status: () => RUNNING,
    confirm: async (question) => {
      questions.push(question);
      return options.confirm ?? true;
    },
    startGateway: () => void starts++,
    timers: clock,
  });
  return {
    session,
    clock,
    posts,
    ...fake,
    types: () => posts.map((post) => post.type),
    setAdmin: (value: boolean) => (hasAdmin = value),
    get starts() {
      return starts;
    },
    get confirms() {
      return questions.length;
    },
    questions,
    /** Forgets what was posted and called so far. */
    reset: () => {
      posts.length = 0;
      fake.calls.length = 0;
    },
  };
}

type World = ReturnType<typeof setup>;

async function ready(world: World): Promise<void> {
  await world.session.handle({ type: 'ready' });
  world.reset();
}

function requestEvent(outcome: RequestEventDto['outcome']): RequestEventDto {
  return {
    id: 1,
    at: 0,
    endpoint: 'chat.completions',
    model: 'm',
    outcome,
    reason: null,
    rule: null,
    similarity: null,
    upstreamMs: null,
    gatewayMs: 1,
    promptTokens: 1,
    completionTokens: 1,
    entryId: null,
    status: 200,
    stream: false,
  };
}

describe('DashboardSession', () => {
  let worlds: World[] = [];
  const make = (options?: Parameters<typeof setup>[0]) => {
    const world = setup(options);
    worlds.push(world);
    return world;
  };
  afterEach(() => {
    for (const world of worlds) world.session.dispose();
    worlds = [];
  });

  describe('requests from the webview', () => {
    it('answers ready with the gateway status, then stats, entries and skipped requests', async () => {
      const world = make();
      await world.session.handle({ type: 'ready' });
      assert.deepEqual(world.posts[0], { type: 'gateway/didChange', status: RUNNING });
      assert.deepEqual(
        world.posts
          .slice(1)
          .map((post) => post.type)
          .sort(),
        ['entries/didLoad', 'skipped/didLoad', 'stats/didChange'],
      );
      assert.deepEqual(
        world.posts.find((post) => post.type === 'stats/didChange'),
        { type: 'stats/didChange', window: '1h', stats: STATS },
      );
      assert.deepEqual(
        world.posts.find((post) => post.type === 'entries/didLoad'),
        { type: 'entries/didLoad', query: DEFAULT_QUERY, page: PAGE },
      );
      assert.deepEqual(
        world.posts.find((post) => post.type === 'skipped/didLoad'),
        { type: 'skipped/didLoad', reason: null, page: SKIPPED },
      );
      assert.deepEqual(world.calls.slice().sort(), [
        ['entries', DEFAULT_QUERY],
        ['skipped', null, 0, 50],
        ['stats', '1h'],
      ]);
    });

    it('pushes nothing before ready', async () => {
      const world = make();
      await world.session.handle({ type: 'stats/request', window: '24h' });
      await world.session.handle({ type: 'entries/request', query: { ...DEFAULT_QUERY, offset: 50 } });
      await world.session.refreshAll();
      world.session.gatewayChanged(RUNNING);
      world.session.live({ type: 'caching/changed', enabled: false });
      await world.clock.advance(5000);
      assert.deepEqual(world.posts, []);
      assert.deepEqual(world.calls, []);
    });

    it('loads the stats of the window asked for, and keeps that window afterwards', async () => {
      const world = make();
      await ready(world);
      await world.session.handle({ type: 'stats/request', window: '7d' });
      assert.deepEqual(world.calls, [['stats', '7d']]);
      assert.deepEqual(world.posts, [{ type: 'stats/didChange', window: '7d', stats: STATS }]);
      world.reset();
      await world.session.refreshAll();
      assert.deepEqual(
        world.posts.find((post) => post.type === 'stats/didChange'),
        { type: 'stats/didChange', window: '7d', stats: STATS },
      );
    });

    it('loads the page of entries asked for', async () => {
      const world = make();
      await ready(world);
      const query: EntryQueryDto = { sort: 'hits', order: 'asc', offset: 100, limit: 25, search: 'capital', model: 'llama' };
      await world.session.handle({ type: 'entries/request', query });
      assert.deepEqual(world.calls, [['entries', query]]);
      assert.deepEqual(world.posts, [{ type: 'entries/didLoad', query, page: PAGE }]);
    });

    it('loads one entry', async () => {
      const world = make();
      await ready(world);
      await world.session.handle({ type: 'entry/request', id: 'e1' });
      assert.deepEqual(world.calls, [['entry', 'e1']]);
      assert.deepEqual(world.posts, [{ type: 'entry/didLoad', entry: ENTRY }]);
    });

    it('evicts entries by id, then reloads the page', async () => {
      const world = make();
      await ready(world);
      await world.session.handle({ type: 'entries/evict', ids: ['a', 'b'] });
      assert.deepEqual(world.calls, [
        ['evict', ['a', 'b']],
        ['entries', DEFAULT_QUERY],
      ]);
      assert.deepEqual(world.types(), ['entries/didLoad']);
    });

    it('evicts what a filter matches, then reloads from the first page', async () => {
      const world = make();
      await ready(world);
      const query: EntryQueryDto = { ...DEFAULT_QUERY, offset: 150, search: 'weather' };
      await world.session.handle({ type: 'entries/request', query });
      world.reset();
      await world.session.handle({ type: 'entries/evictMatching', filter: { search: 'weather' } });
      assert.deepEqual(world.calls, [
        ['entries', { search: 'weather', sort: 'created', order: 'desc', offset: 0, limit: 1 }],
        ['evictMatching', { search: 'weather' }],
        ['entries', { ...query, offset: 0 }],
      ]);
      assert.deepEqual(world.questions, ['Evict the 1 cached answer matching this filter? This cannot be undone.']);
      assert.deepEqual(world.posts, [{ type: 'entries/didLoad', query: { ...query, offset: 0 }, page: PAGE }]);
    });

    it('evicts nothing by filter when the user declines', async () => {
      const world = make({ confirm: false });
      await ready(world);
      await world.session.handle({ type: 'entries/evictMatching', filter: { model: 'm' } });
      assert.equal(world.confirms, 1);
      assert.deepEqual(world.methods(), ['entries']);
      assert.deepEqual(world.posts, []);
    });

    it('clears everything after the user confirms, then refreshes all', async () => {
      const world = make();
      await ready(world);
      await world.session.handle({ type: 'entries/request', query: { ...DEFAULT_QUERY, offset: 50 } });
      world.reset();
      await world.session.handle({ type: 'entries/clear' });
      assert.equal(world.confirms, 1);
      assert.equal(world.methods()[0], 'clear');
      assert.deepEqual(world.methods().slice(1).sort(), ['entries', 'skipped', 'stats']);
      assert.deepEqual(
        world.calls.find((call) => call[0] === 'entries'),
        ['entries', DEFAULT_QUERY],
      );
      assert.deepEqual(world.types().sort(), ['entries/didLoad', 'skipped/didLoad', 'stats/didChange']);
    });

    it('clears nothing when the user declines', async () => {
      const world = make({ confirm: false });
      await ready(world);
      await world.session.handle({ type: 'entries/clear' });
      assert.equal(world.confirms, 1);
      assert.deepEqual(world.calls, []);
      assert.deepEqual(world.posts, []);
    });

    it('loads a page of skipped requests for a reason, and follows that reason afterwards', async () => {
      const world = make();
      await ready(world);
      await world.session.handle({ type: 'skipped/request', reason: 'financial', offset: 20, limit: 10 });
      assert.deepEqual(world.calls, [['skipped', 'financial', 20, 10]]);
      assert.deepEqual(world.posts, [{ type: 'skipped/didLoad', reason: 'financial', page: SKIPPED }]);
      world.reset();
      await world.session.refreshAll();
      assert.deepEqual(
        world.calls.find((call) => call[0] === 'skipped'),
        ['skipped', 'financial', 20, 10],
        'the page the user is on',
      );
    });

    it('starts the gateway when asked', async () => {
      const world = make();
      await world.session.handle({ type: 'gateway/start' });
      assert.equal(world.starts, 1);
      assert.deepEqual(world.posts, []);
    });

    it('rejects an unknown message with an error banner', async () => {
      const world = make();
      await world.session.handle({ type: 'nonsense' } as never);
      assert.deepEqual(world.posts, [{ type: 'error/show', message: 'unknown message {"type":"nonsense"}' }]);
    });
  });

  describe('errors', () => {
    it('turns a failing admin call into an error banner instead of throwing', async () => {
      const world = make();
      await ready(world);
      for (const [method, message] of [
        ['entry', { type: 'entry/request', id: 'x' }],
        ['evict', { type: 'entries/evict', ids: ['x'] }],
        ['evictMatching', { type: 'entries/evictMatching', filter: {} }],
        ['clear', { type: 'entries/clear' }],
        ['stats', { type: 'stats/request', window: '1h' }],
        ['entries', { type: 'entries/request', query: DEFAULT_QUERY }],
        ['skipped', { type: 'skipped/request', reason: null, offset: 0, limit: 50 }],
      ] satisfies Array<[string, WebviewToHost]>) {
        world.fail.set(method, new Error(`${method} broke`));
        await assert.doesNotReject(world.session.handle(message));
        assert.deepEqual(world.posts, [{ type: 'error/show', message: `${method} broke` }], method);
        world.fail.clear();
        world.reset();
      }
    });

    it('says the gateway is not running when an action needs it', async () => {
      const world = make({ admin: false });
      await ready(world);
      const messages: WebviewToHost[] = [
        { type: 'entries/evict', ids: ['a'] },
        { type: 'entries/evictMatching', filter: {} },
        { type: 'entries/clear' },
      ];
      for (const message of messages) {
        await world.session.handle(message);
        assert.deepEqual(world.posts, [{ type: 'error/show', message: 'The gateway is not running: start it first.' }], message.type);
        world.reset();
      }
    });

    it('loads nothing, silently, when no gateway is up', async () => {
      const world = make({ admin: false });
      await world.session.handle({ type: 'ready' });
      assert.deepEqual(world.types(), ['gateway/didChange']);
      world.reset();
      await world.session.handle({ type: 'stats/request', window: '1h' });
      await world.session.handle({ type: 'entries/request', query: DEFAULT_QUERY });
      await world.session.handle({ type: 'entry/request', id: 'x' });
      await world.session.handle({ type: 'skipped/request', reason: null, offset: 0, limit: 50 });
      assert.deepEqual(world.posts, []);
    });

    it('reports a failed refresh once, as a banner', async () => {
      const world = make();
      await ready(world);
      world.fail.set('stats', new Error('gateway gone'));
      await assert.doesNotReject(world.session.refreshAll());
      assert.deepEqual(
        world.posts.filter((post) => post.type === 'error/show'),
        [{ type: 'error/show', message: 'gateway gone' }],
      );
    });
  });

  describe('pushes', () => {
    it('tells the webview about gateway changes and reloads when a gateway comes up', async () => {
      const world = make();
      await ready(world);
      const off: GatewayStatusDto = { state: 'off', url: null, message: null, owned: false };
      world.session.gatewayChanged(off);
      await settle();
      assert.deepEqual(world.posts, [{ type: 'gateway/didChange', status: off }]);
      assert.deepEqual(world.calls, []);
      world.reset();
      const attached: GatewayStatusDto = { state: 'attached', url: 'http://127.0.0.1:8787', message: null, owned: false };
      world.session.gatewayChanged(attached);
      await settle();
      assert.deepEqual(world.posts[0], { type: 'gateway/didChange', status: attached });
      assert.deepEqual(world.methods().sort(), ['entries', 'skipped', 'stats']);
    });

    it('forwards live requests, and reloads skipped requests on a SKIP', async () => {
      const world = make();
      await ready(world);
      world.session.live({ type: 'request', event: requestEvent('HIT') });
      await settle();
      assert.deepEqual(world.posts, [{ type: 'live/request', event: requestEvent('HIT') }]);
      assert.deepEqual(world.calls, []);
      world.reset();
      world.session.live({ type: 'request', event: requestEvent('SKIP') });
      await settle();
      assert.deepEqual(world.types(), ['live/request', 'skipped/didLoad']);
      assert.deepEqual(world.calls, [['skipped', null, 0, 50]]);
    });

    it('reloads the entries when they change', async () => {
      const world = make();
      await ready(world);
      world.session.live({ type: 'entries/changed', reason: 'stored' });
      await settle();
      assert.deepEqual(world.calls, [['entries', DEFAULT_QUERY]]);
      assert.deepEqual(world.types(), ['entries/didLoad']);
    });

    it('refreshes the stats at most once per two seconds, however many events arrive', async () => {
      const world = make();
      await ready(world);
      const events: LiveEventDto[] = [
        { type: 'request', event: requestEvent('MISS') },
        { type: 'caching/changed', enabled: true },
        { type: 'entries/changed', reason: 'stored' },
      ];
      for (let i = 0; i < 30; i++) world.session.live(events[i % events.length]!);
      await world.clock.advance(1999);
      assert.equal(world.methods().filter((method) => method === 'stats').length, 0);
      await world.clock.advance(1);
      assert.equal(world.methods().filter((method) => method === 'stats').length, 1);
      assert.equal(world.posts.filter((post) => post.type === 'stats/didChange').length, 1);
      await world.clock.advance(10_000);
      assert.equal(world.methods().filter((method) => method === 'stats').length, 1, 'no events, no more stats');
      world.session.live({ type: 'caching/changed', enabled: false });
      await world.clock.advance(2000);
      assert.equal(world.methods().filter((method) => method === 'stats').length, 2);
    });

    it('keeps a failing stats refresh quiet', async () => {
      const world = make();
      await ready(world);
      world.fail.set('stats', new Error('down'));
      world.session.live({ type: 'caching/changed', enabled: false });
      await world.clock.advance(2000);
      assert.deepEqual(world.calls, [['stats', '1h']]);
      assert.deepEqual(world.posts, []);
    });

    it('pushes nothing while hidden, and refreshes everything when shown again', async () => {
      const world = make();
      await ready(world);
      world.session.setVisible(false);
      world.session.live({ type: 'request', event: requestEvent('SKIP') });
      world.session.live({ type: 'entries/changed', reason: 'evicted' });
      await world.clock.advance(5000);
      assert.deepEqual(world.posts, []);
      assert.deepEqual(world.calls, []);
      world.session.setVisible(false);
      await settle();
      assert.deepEqual(world.calls, []);
      world.session.setVisible(true);
      await settle();
      assert.deepEqual(world.methods().sort(), ['entries', 'skipped', 'stats']);
      world.reset();
      world.session.setVisible(true);
      await settle();
      assert.deepEqual(world.calls, [], 'already visible: no second refresh');
    });

    it('cancels the pending stats refresh on dispose', async () => {
      const world = make();
      await ready(world);
      world.session.live({ type: 'caching/changed', enabled: true });
      assert.equal(world.clock.size, 1);
      world.session.dispose();
      assert.equal(world.clock.size, 0);
      await world.clock.advance(5000);
      assert.deepEqual(world.calls, []);
    });
  });
});

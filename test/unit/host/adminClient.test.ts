import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient, AdminError, probePort, type HealthDto } from '../../../src/host/adminClient';
import { ADMIN_BASE, ADMIN_TOKEN_FILE, type LiveEventDto } from '../../../src/shared/protocol';
import { listen, readBody } from './fakes';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

type Reply = { status: number; body: string; type?: string };

/**
 * A pretend admin API on loopback: it checks the bearer token like the gateway,
 * records each request, and answers with `reply` (by default the request echoed back).
 */
async function fakeGateway() {
  const seen: Seen[] = [];
  const state = {
    token: 'token-1',
    reply: undefined as ((request: Seen) => Reply) | undefined,
    /** Open event streams, to push events into. */
    streams: [] as http.ServerResponse[],
  };
  const server = await listen(async (request, response) => {
    const body = await readBody(request);
    const entry: Seen = {
      method: request.method ?? '',
      url: request.url ?? '',
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      body,
    };
    seen.push(entry);
    if (entry.authorization !== `Bearer ${state.token}`) {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          error: { message: 'The admin API needs the token from admin-token in the data directory', type: 'authentication_error' },
        }),
      );
      return;
    }
    if (entry.url === `${ADMIN_BASE}/events`) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.flushHeaders();
      state.streams.push(response);
      return;
    }
    const reply = state.reply?.(entry) ?? {
      status: 200,
      body: JSON.stringify({ method: entry.method, url: entry.url, body: entry.body ? JSON.parse(entry.body) : null }),
    };
    response.writeHead(reply.status, { 'content-type': reply.type ?? 'application/json' });
    response.end(reply.body);
  });
  return { server, seen, state };
}

describe('AdminClient', () => {
  let dataDir: string;
  let gateway: Awaited<ReturnType<typeof fakeGateway>>;
  let client: AdminClient;
  const writeToken = (token: string) => writeFile(join(dataDir, ADMIN_TOKEN_FILE), `${token}\n`, { mode: 0o600 });

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'deja-admin-client-'));
    gateway = await fakeGateway();
    await writeToken('token-1');
    client = new AdminClient(gateway.server.url, dataDir);
  });

  afterEach(async () => {
    await gateway.server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('calls', () => {
    it('sends the token from the data directory as a bearer token, trimmed', async () => {
      const result = await client.stats('24h');
      assert.deepEqual(result, { method: 'GET', url: `${ADMIN_BASE}/stats?window=24h`, body: null });
      assert.equal(gateway.seen.length, 1);
      assert.equal(gateway.seen[0]!.authorization, 'Bearer token-1');
      assert.equal(gateway.seen[0]!.contentType, undefined, 'a GET has no body');
    });

    it('reads the token file once, not at every call', async () => {
      await client.stats('1h');
      // A token that changes without the gateway refusing the old one is not re-read.
      await writeToken('token-2');
      await client.stats('1h');
      assert.deepEqual(
        gateway.seen.map((request) => request.authorization),
        ['Bearer token-1', 'Bearer token-1'],
      );
    });

    it('builds the entries query, leaving out empty filters', async () => {
      await client.entries({ sort: 'lastHit', order: 'asc', offset: 50, limit: 25 });
      await client.entries({
        sort: 'hits',
        order: 'desc',
        offset: 0,
        limit: 10,
        search: 'what & why?',
        model: 'llama 3',
        endpoint: 'completions',
      });
      const [plain, filtered] = gateway.seen.map((request) => new URL(request.url, 'http://x'));
      assert.equal(plain!.pathname, `${ADMIN_BASE}/entries`);
      assert.deepEqual(Object.fromEntries(plain!.searchParams), { sort: 'lastHit', order: 'asc', offset: '50', limit: '25' });
      assert.deepEqual(Object.fromEntries(filtered!.searchParams), {
        sort: 'hits',
        order: 'desc',
        offset: '0',
        limit: '10',
        search: 'what & why?',
        model: 'llama 3',
        endpoint: 'completions',
      });
    });

    it('escapes the entry id in the path', async () => {
      await client.entry('a/b c?d');
      assert.equal(gateway.seen[0]!.url, `${ADMIN_BASE}/entries/a%2Fb%20c%3Fd`);
    });

    it('posts evictions, clears, and switches caching with JSON bodies', async () => {
      await client.evict(['e1', 'e2']);
      await client.evictMatching({ search: 'weather', model: 'm' });
      await client.clear();
      await client.setCaching(false);
      assert.deepEqual(
        gateway.seen.map(({ method, url, body, contentType }) => ({ method, url, body: body ? JSON.parse(body) : null, contentType })),
        [
          { method: 'POST', url: `${ADMIN_BASE}/entries/evict`, body: { ids: ['e1', 'e2'] }, contentType: 'application/json' },
          {
            method: 'POST',
            url: `${ADMIN_BASE}/entries/evict`,
            body: { filter: { search: 'weather', model: 'm' } },
            contentType: 'application/json',
          },
          { method: 'DELETE', url: `${ADMIN_BASE}/entries`, body: null, contentType: undefined },
          { method: 'POST', url: `${ADMIN_BASE}/caching`, body: { enabled: false }, contentType: 'application/json' },
        ],
      );
    });

    it('asks for skipped requests with or without a reason', async () => {
      await client.skipped(null, 0, 50);
      await client.skipped('time_sensitive', 100, 20);
      assert.deepEqual(
        gateway.seen.map((request) => request.url),
        [`${ADMIN_BASE}/skipped?offset=0&limit=50`, `${ADMIN_BASE}/skipped?offset=100&limit=20&reason=time_sensitive`],
      );
    });

    it('returns what the gateway answers', async () => {
      gateway.state.reply = () => ({ status: 200, body: JSON.stringify({ evicted: 4 }) });
      assert.deepEqual(await client.clear(), { evicted: 4 });
    });
  });

  describe('the token', () => {
    it('re-reads the token once when the gateway answers 401, and retries', async () => {
      await client.stats('1h');
      // The gateway restarted and wrote a new token.
      gateway.state.token = 'token-2';
      await writeToken('token-2');
      const result = await client.evict(['e1']);
      assert.deepEqual(result, { method: 'POST', url: `${ADMIN_BASE}/entries/evict`, body: { ids: ['e1'] } });
      assert.deepEqual(
        gateway.seen.map((request) => [request.authorization, request.body]),
        [
          ['Bearer token-1', ''],
          ['Bearer token-1', '{"ids":["e1"]}'],
          ['Bearer token-2', '{"ids":["e1"]}'],
        ],
      );
      await client.stats('1h');
      assert.equal(gateway.seen.at(-1)!.authorization, 'Bearer token-2', 'the new token is kept');
      assert.equal(gateway.seen.length, 4);
    });

    it('gives up after one retry when the token is still refused', async () => {
      gateway.state.token = 'someone-else';
      await assert.rejects(client.stats('1h'), (error: unknown) => {
        assert.ok(error instanceof AdminError);
        assert.equal(error.status, 401);
        assert.equal(error.message, 'The admin API needs the token from admin-token in the data directory');
        return true;
      });
      assert.equal(gateway.seen.length, 2);
    });

    it('fails plainly when the data directory has no token', async () => {
      await rm(join(dataDir, ADMIN_TOKEN_FILE));
      await assert.rejects(client.stats('1h'), { code: 'ENOENT' });
      assert.equal(gateway.seen.length, 0);
    });
  });

  describe('errors', () => {
    it("takes the message from the gateway's OpenAI-shaped error, with the status", async () => {
      gateway.state.reply = () => ({ status: 404, body: JSON.stringify({ error: { message: 'No entry e9', type: 'not_found' } }) });
      await assert.rejects(client.entry('e9'), (error: unknown) => {
        assert.ok(error instanceof AdminError);
        assert.equal(error.status, 404);
        assert.equal(error.message, 'No entry e9');
        return true;
      });
    });

    it('keeps the body as the message when it is not that shape', async () => {
      gateway.state.reply = () => ({ status: 502, body: 'Bad Gateway', type: 'text/plain' });
      await assert.rejects(
        client.stats('1h'),
        (error: unknown) => error instanceof AdminError && error.status === 502 && error.message === 'Bad Gateway',
      );
      gateway.state.reply = () => ({ status: 500, body: JSON.stringify({ detail: 'boom' }) });
      await assert.rejects(
        client.stats('1h'),
        (error: unknown) => error instanceof AdminError && error.status === 500 && error.message === '{"detail":"boom"}',
      );
      assert.equal(gateway.seen.length, 2, 'only a 401 is retried');
    });

    it('rejects when nothing listens', async () => {
      const closed = await listen(() => {});
      await closed.close();
      await assert.rejects(new AdminClient(closed.url, dataDir).stats('1h'));
    });
  });

  describe('subscribe', () => {
    const waitFor = async (condition: () => boolean, what: string) => {
      for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.ok(condition(), `timed out waiting for ${what}`);
    };

    it('parses server-sent events split across chunks, skipping comments and malformed ones', async () => {
      const events: LiveEventDto[] = [];
      let closed = 0;
      const stop = await client.subscribe(
        (event) => events.push(event),
        () => closed++,
      );
      try {
        await waitFor(() => gateway.state.streams.length === 1, 'the stream');
        assert.equal(gateway.seen[0]!.authorization, 'Bearer token-1');
        const stream = gateway.state.streams[0]!;
        stream.write(': keep-alive\n\n');
        stream.write('event: message\ndata: {"type":"caching/changed",');
        stream.write('"enabled":false}\n');
        stream.write('\ndata: not json\n\n');
        stream.write('data: {"type":"entries/changed",\ndata: "reason":"stored"}\n\n');
        await waitFor(() => events.length === 2, 'two events');
        assert.deepEqual(events, [
          { type: 'caching/changed', enabled: false },
          { type: 'entries/changed', reason: 'stored' },
        ]);
        assert.equal(closed, 0);
      } finally {
        stop();
      }
    });

    it('calls onClose when the stream ends', async () => {
      let closed = 0;
      const stop = await client.subscribe(
        () => {},
        () => closed++,
      );
      await waitFor(() => gateway.state.streams.length === 1, 'the stream');
      gateway.state.streams[0]!.end();
      await waitFor(() => closed > 0, 'onClose');
      stop();
    });

    it('calls onClose when refused, and reads the token again next time', async () => {
      gateway.state.token = 'token-2';
      await writeToken('token-2');
      await client.stats('1h'); // caches token-1, then re-reads token-2 after the 401
      gateway.state.token = 'token-3';
      await writeToken('token-3');
      let closed = 0;
      const first = await client.subscribe(
        () => {},
        () => closed++,
      );
      await waitFor(() => closed === 1, 'onClose after a 401');
      first();
      const second = await client.subscribe(
        () => {},
        () => closed++,
      );
      await waitFor(() => gateway.state.streams.length === 1, 'the stream with the new token');
      assert.equal(gateway.seen.at(-1)!.authorization, 'Bearer token-3');
      assert.equal(closed, 1);
      second();
    });

    it('calls onClose when nothing listens', async () => {
      const down = await listen(() => {});
      await down.close();
      let closed = 0;
      const stop = await new AdminClient(down.url, dataDir).subscribe(
        () => {},
        () => closed++,
      );
      await waitFor(() => closed > 0, 'onClose');
      stop();
    });
  });
});

describe('probePort', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });

  const serveHealth = async (status: number, body: string, type = 'application/json') => {
    const server = await listen((request, response) => {
      response.writeHead(request.url === '/health' ? status : 404, { 'content-type': type });
      response.end(request.url === '/health' ? body : 'not found');
    });
    closers.push(server.close);
    return server;
  };

  /** A plain TCP server (no HTTP), closed with every connection it accepted. */
  const serveTcp = async (onConnection: (socket: net.Socket) => void): Promise<number> => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      onConnection(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    );
    return (server.address() as net.AddressInfo).port;
  };

  it('recognizes a Deja gateway by its /health and returns what it says', async () => {
    const health: HealthDto = {
      name: 'deja',
      version: '1.2.3',
      pid: 4242,
      dataDir: '/data',
      upstream: 'http://127.0.0.1:8000/v1',
      caching: true,
    };
    const server = await serveHealth(200, JSON.stringify(health));
    assert.deepEqual(await probePort(server.port), { kind: 'deja', health });
  });

  it("calls any other HTTP server 'other', saying how it answered", async () => {
    const html = await serveHealth(404, '<h1>Not Found</h1>', 'text/html');
    assert.deepEqual(await probePort(html.port), { kind: 'other', detail: 'it answered 404 to GET /health' });
    const json = await serveHealth(200, JSON.stringify({ status: 'ok', name: 'something-else' }));
    assert.deepEqual(await probePort(json.port), { kind: 'other', detail: 'it answered 200 to GET /health' });
    const nullBody = await serveHealth(200, 'null');
    assert.deepEqual(await probePort(nullBody.port), { kind: 'other', detail: 'it answered 200 to GET /health' });
  });

  it("calls a port that accepts but never answers 'other', after the timeout", async () => {
    const port = await serveTcp(() => {});
    const began = Date.now();
    assert.deepEqual(await probePort(port, 100), { kind: 'other', detail: 'it accepted the connection but did not answer' });
    assert.ok(Date.now() - began < 1000, 'the timeout is honoured');
  });

  it("calls a port that speaks something else than HTTP 'other'", async () => {
    const port = await serveTcp((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n'));
    const probe = await probePort(port, 500);
    assert.equal(probe.kind, 'other');
  });

  it("calls a port nobody listens on 'free'", async () => {
    const server = await listen(() => {});
    await server.close();
    assert.deepEqual(await probePort(server.port), { kind: 'free' });
  });
});

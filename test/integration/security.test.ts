import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { createLogger } from '../../src/core/logger';
import { DEFAULT_OPTIONS, resolveOptions } from '../../src/core/options';
import { startGateway, type RunningGateway } from '../../src/gateway/startGateway';
import { dashboardHtml } from '../../src/host/webviewHtml';
import { FakeEmbedder } from '../fixtures/fakeEmbedder';
import { SimVllm } from '../fixtures/simVllm';
import { chatBody, MODEL, sleep, startHarness, type Harness } from './harness';

const ROOT = resolve(__dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';

/** A request with full control over Host and Origin, which fetch does not allow. */
function rawRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const target = new URL(url);
  return new Promise((resolvePromise, reject) => {
    const req = http.request(
      {
        hostname: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: init.method ?? 'GET',
        headers: init.headers,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

function errorOf(body: string): { message: string; type: string; code: string } {
  const parsed = JSON.parse(body) as { error: { message: string; type: string; code: string } };
  assert.equal(typeof parsed.error.message, 'string');
  assert.equal(typeof parsed.error.type, 'string');
  return parsed.error;
}

/** Every file under a directory, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(path, ...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

describe('security: the API token', function () {
  const TOKEN = 'deja-test-api-token-0123456789';
  const UPSTREAM_KEY = 'sk-upstream-key-for-the-sim';
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ gateway: { apiToken: TOKEN, upstreamApiKey: UPSTREAM_KEY } });
  });
  afterEach(async () => {
    await h.close();
  });

  it('refuses /v1 without the token or with a wrong one: 401 in the OpenAI shape', async () => {
    const cases: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer sk-wrong' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
      { authorization: `Bearer ${'x'.repeat(5000)}` },
      { 'x-api-key': TOKEN },
    ];
    for (const headers of cases) {
      for (const [method, path] of [
        ['POST', '/v1/chat/completions'],
        ['POST', '/v1/embeddings'],
        ['GET', '/v1/models'],
        ['GET', '/V1/MODELS'],
        ['DELETE', '/v1/anything'],
      ] as const) {
        const res = await fetch(`${h.gateway.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          body: method === 'POST' ? JSON.stringify(chatBody('hi')) : undefined,
        });
        assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers).slice(0, 60)}`);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="deja"');
        const error = errorOf(await res.text());
        assert.equal(error.code, 'invalid_api_key');
        assert.equal(error.type, 'authentication_error');
        assert.ok(!error.message.includes(TOKEN));
      }
    }
    assert.equal(h.sim.requests.filter((request) => request.path.startsWith('/v1/') && request.path !== '/metrics').length, 0);
  });

  it('serves a client that sends the token as its API key, and sends the upstream key upstream, never the token', async () => {
    const client = new OpenAI({ baseURL: h.gateway.baseUrl, apiKey: TOKEN, maxRetries: 0 });
    const first = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'What is a cache?' }] });
    assert.ok(first.choices[0]!.message.content);
    const again = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'What is a cache?' }] })
      .withResponse();
    assert.equal(again.response.headers.get('x-deja-cache'), 'HIT');
    const models = await client.models.list();
    assert.ok(models.data.length > 0);
    // A lower-case scheme is still the Bearer scheme (RFC 9110 §11.1).
    assert.equal((await fetch(`${h.gateway.url}/v1/models`, { headers: { authorization: `bearer ${TOKEN}` } })).status, 200);
    const upstreamCalls = h.sim.requests.filter((request) => request.path.startsWith('/v1/'));
    assert.ok(upstreamCalls.length >= 2);
    for (const request of upstreamCalls) {
      assert.equal(request.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
      assert.ok(!JSON.stringify(request.headers).includes(TOKEN), 'the API token reached the upstream');
    }
  });

  it('guards /metrics too; /health stays open; the admin API keeps its own token', async () => {
    assert.equal((await fetch(`${h.gateway.url}/health`)).status, 200);
    const metrics = await fetch(`${h.gateway.url}/metrics`);
    assert.equal(metrics.status, 401);
    assert.equal(errorOf(await metrics.text()).code, 'invalid_api_key');
    assert.equal((await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    // The API token is not the admin token, and the other way round.
    assert.equal((await fetch(`${h.gateway.url}/deja/v1/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 401);
    assert.equal(
      (await fetch(`${h.gateway.url}/deja/v1/stats`, { headers: { authorization: `Bearer ${h.gateway.context.adminToken}` } })).status,
      200,
    );
    assert.equal(
      (await fetch(`${h.gateway.url}/v1/models`, { headers: { authorization: `Bearer ${h.gateway.context.adminToken}` } })).status,
      401,
    );
  });

  it('is read from --api-token or DEJA_API_TOKEN; a short or spaced token is refused without echoing it', () => {
    assert.equal(resolveOptions({ 'api-token': TOKEN }, {}).apiToken, TOKEN);
    assert.equal(resolveOptions({}, { DEJA_API_TOKEN: TOKEN }).apiToken, TOKEN);
    assert.equal(resolveOptions({ 'api-token': TOKEN }, { DEJA_API_TOKEN: 'another-token-0123456789' }).apiToken, TOKEN);
    assert.equal(resolveOptions({}, {}).apiToken, undefined);
    for (const bad of ['short-secret', 'has a space in it 0123456789']) {
      assert.throws(
        () => resolveOptions({ 'api-token': bad }, {}),
        (error: Error) => error.message.startsWith('--api-token:') && !error.message.includes(bad),
      );
    }
  });
});

describe('security: binding beyond loopback', function () {
  this.timeout(30_000);
  let sim: SimVllm;
  let upstream: string;
  let dataDir: string;
  before(async () => {
    sim = new SimVllm();
    upstream = await sim.start();
  });
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'deja-bind-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });
  after(async () => {
    await sim.stop();
  });

  /** `deja serve` from the sources; resolves with everything it printed once it is up, then stops it. */
  function serveOutput(args: string[]): Promise<{ stdout: string; stderr: string }> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/cli.ts'),
        'serve',
        '--port',
        '0',
        '--data',
        dataDir,
        '--upstream',
        upstream,
        '--semantic',
        'off',
        '--vllm-metrics-interval',
        '0',
        ...args,
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolvePromise, reject) => {
      const timer = setInterval(() => {
        if (!/OpenAI base URL/.test(stdout)) return;
        clearInterval(timer);
        child.once('exit', () => resolvePromise({ stdout, stderr }));
        child.kill('SIGTERM');
      }, 50);
      child.once('exit', (code) => {
        clearInterval(timer);
        if (!/OpenAI base URL/.test(stdout)) reject(new Error(`deja serve exited with ${code}: ${stdout}${stderr}`));
      });
    });
  }

  it('prints nothing about exposure on loopback (the default)', async () => {
    const { stdout, stderr } = await serveOutput([]);
    assert.match(stdout, /http:\/\/127\.0\.0\.1:\d+\/v1/);
    assert.doesNotMatch(stderr, /WARNING/);
  });

  it('warns loudly on stderr when bound elsewhere: the cache may leak answers, use --api-token', async () => {
    const { stderr } = await serveOutput(['--host', '0.0.0.0']);
    const block = stderr.split('\n').filter((line) => line.startsWith('!!'));
    assert.ok(block.length >= 5, stderr);
    const text = block.join('\n');
    assert.match(text, /WARNING: Deja is bound to 0\.0\.0\.0, not loopback/);
    assert.match(text, /leak/);
    assert.match(text, /--api-token/);
    assert.match(text, /--host 127\.0\.0\.1/);
  });

  it('says what is still exposed when bound elsewhere with --api-token', async () => {
    const { stdout, stderr } = await serveOutput(['--host', '0.0.0.0', '--api-token', 'deja-test-api-token-0123456789']);
    assert.match(stderr, /WARNING: Deja is bound to 0\.0\.0\.0/);
    assert.match(stderr, /plain HTTP/);
    assert.match(stdout, /api token\s+required/);
    assert.ok(
      !stdout.includes('deja-test-api-token-0123456789') && !stderr.includes('deja-test-api-token-0123456789'),
      'the token was printed',
    );
  });
});

describe('security: the admin API against a browser', function () {
  let h: Harness;
  let stored: string;
  beforeEach(async () => {
    h = await startHarness();
    await (await h.post('/v1/chat/completions', chatBody('What is a cache?'))).text();
    await sleep(50);
    const hit = await h.post('/v1/chat/completions', chatBody('What is a cache?'));
    assert.equal(hit.headers.get('x-deja-cache'), 'HIT');
    stored = hit.headers.get('x-deja-entry') ?? '';
    await hit.text();
  });
  afterEach(async () => {
    await h.close();
  });

  const routes = (id: string): Array<[string, string, string?]> => [
    ['GET', '/deja/v1/stats'],
    ['GET', '/deja/v1/entries'],
    ['GET', `/deja/v1/entries/${id}`],
    ['GET', '/deja/v1/skipped'],
    ['GET', '/deja/v1/events'],
    ['POST', '/deja/v1/caching', '{"enabled":false}'],
    ['POST', '/deja/v1/entries/evict', `{"ids":["${id}"]}`],
    ['DELETE', `/deja/v1/entries/${id}`],
    ['DELETE', '/deja/v1/entries'],
  ];

  it('refuses a DNS-rebinding request (Host: evil.example) with the right token on every route', async () => {
    const port = h.gateway.port;
    for (const host of ['evil.example', `evil.example:${port}`, `localhost.evil.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
      for (const [method, path, body] of routes(stored)) {
        const res = await rawRequest(`${h.gateway.url}${path}`, {
          method,
          body,
          headers: {
            host,
            authorization: `Bearer ${h.gateway.context.adminToken}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
        });
        assert.equal(res.status, 403, `${method} ${path} Host ${host}`);
        assert.equal(errorOf(res.body).code, 'host_not_allowed');
      }
    }
    // Nothing changed: the entry is there and caching is on.
    assert.equal(h.gateway.context.options.cachingEnabled, true);
    assert.ok(await h.gateway.context.cache.entry(stored));
  });

  it('on loopback, answers the OpenAI endpoints and /metrics only to a loopback Host: a rebound page reads no cached answer', async () => {
    const port = h.gateway.port;
    const question = JSON.stringify(chatBody('What is a cache?'));
    for (const host of ['evil.example', `evil.example:${port}`, `localhost.evil.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
      for (const [method, path, body] of [
        ['POST', '/v1/chat/completions', question],
        ['GET', '/v1/models'],
        ['GET', '/metrics'],
      ] as const) {
        const res = await rawRequest(`${h.gateway.url}${path}`, {
          method,
          body,
          headers: { host, ...(body ? { 'content-type': 'application/json' } : {}) },
        });
        assert.equal(res.status, 403, `${method} ${path} Host ${host}`);
        assert.equal(errorOf(res.body).code, 'host_not_allowed');
      }
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`, 'LOCALHOST']) {
      const res = await rawRequest(`${h.gateway.url}/v1/chat/completions`, {
        method: 'POST',
        body: question,
        headers: { host, 'content-type': 'application/json' },
      });
      assert.equal(res.status, 200, `Host ${host}`);
    }
    // /health stays open: it is how a second window finds the gateway, and it holds no answer.
    assert.equal((await rawRequest(`${h.gateway.url}/health`, { method: 'GET', headers: { host: 'evil.example' } })).status, 200);
  });

  it('refuses a cross-origin browser request (Origin: https://evil.example) with the right token on every route', async () => {
    for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${h.gateway.port}`]) {
      for (const [method, path, body] of routes(stored)) {
        const res = await rawRequest(`${h.gateway.url}${path}`, {
          method,
          body,
          headers: {
            host: `127.0.0.1:${h.gateway.port}`,
            origin,
            authorization: `Bearer ${h.gateway.context.adminToken}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
        });
        assert.equal(res.status, 403, `${method} ${path} Origin ${origin}`);
        assert.equal(errorOf(res.body).code, 'origin_not_allowed');
        assert.equal(res.headers['access-control-allow-origin'], undefined);
      }
    }
    assert.equal(h.gateway.context.options.cachingEnabled, true);
    assert.ok(await h.gateway.context.cache.entry(stored));
  });

  it('grants a browser no CORS access anywhere: a preflight gets no Access-Control-Allow-* headers', async () => {
    for (const path of ['/v1/chat/completions', '/v1/models', '/deja/v1/entries', '/metrics', '/health']) {
      const res = await rawRequest(`${h.gateway.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          host: `127.0.0.1:${h.gateway.port}`,
          origin: 'https://evil.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      for (const name of Object.keys(res.headers)) assert.ok(!name.startsWith('access-control-allow'), `${path}: ${name}`);
    }
    const answer = await rawRequest(`${h.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(chatBody('What is a cache?')),
      headers: { host: `127.0.0.1:${h.gateway.port}`, origin: 'https://evil.example', 'content-type': 'text/plain' },
    });
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
  });
});

describe('security: files and secrets', function () {
  this.timeout(30_000);
  const CLIENT_SECRET = 'sk-deja-client-secret-7f3a91c2e4';
  const HEADER_SECRET = 'sk-deja-header-secret-b5d80e17aa';
  const UPSTREAM_SECRET = 'sk-deja-upstream-secret-c0ffee42';
  const API_TOKEN_SECRET = 'deja-api-token-secret-9d1e77b3f0';
  const SECRETS = [CLIENT_SECRET, HEADER_SECRET, UPSTREAM_SECRET, API_TOKEN_SECRET];
  let sim: SimVllm;
  let simUrl: string;
  let root: string;
  let dataDir: string;
  let gateway: RunningGateway | undefined;
  let logLines: string[];

  beforeEach(async () => {
    sim = new SimVllm();
    simUrl = await sim.start();
    root = await mkdtemp(join(tmpdir(), 'deja-sec-'));
    // A directory that does not exist yet, two levels down: Deja creates it.
    dataDir = join(root, 'nested', 'data');
    logLines = [];
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await sim.stop();
    await rm(root, { recursive: true, force: true });
  });

  const start = (extra: Partial<typeof DEFAULT_OPTIONS> = {}) =>
    startGateway(
      {
        ...DEFAULT_OPTIONS,
        port: 0,
        dataDir,
        upstream: simUrl,
        upstreamTimeoutMs: 5_000,
        logLevel: 'debug',
        semantic: true,
        vllmMetricsIntervalMs: 100,
        revalidateShare: 1,
        ...extra,
      },
      { logger: createLogger('debug', (_level, line) => logLines.push(line)), embedder: new FakeEmbedder() },
    );

  for (const vectorStore of ['sqlite', 'vectra'] as const) {
    it(`creates the data directory owner-only (0700) and every file in it 0600 (vector store ${vectorStore})`, async () => {
      // The usual umask, so that the modes below come from Deja and not from a strict umask.
      const umask = process.umask(0o022);
      try {
        gateway = await start({ vectorStore });
        const post = (path: string, body: unknown) =>
          fetch(`${gateway!.baseUrl}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          }).then((res) => res.text());
        await post('/chat/completions', chatBody('What is a cache?'));
        await post('/chat/completions', chatBody('What is a cache?'));
        await post('/embeddings', { model: MODEL, input: 'files' });
        await post('/chat/completions', chatBody('Write a function that adds numbers'));
        // More questions, so that vectra rewrites shard files it created.
        for (let i = 0; i < 12; i++) await post('/chat/completions', chatBody(`What is cache number ${i}?`));
        await sleep(300);
      } finally {
        process.umask(umask);
      }
      assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
      const files = await filesUnder(dataDir);
      assert.ok(
        files.some((file) => file.endsWith('cache.sqlite')),
        files.join(', '),
      );
      assert.ok(
        files.some((file) => file.endsWith('admin-token')),
        files.join(', '),
      );
      if (vectorStore === 'vectra')
        assert.ok(
          files.some((file) => /vectra\/shard-\d+\/index\.json$/.test(file)),
          files.join(', '),
        );
      for (const file of files) {
        const info = await stat(file);
        if (info.isDirectory()) assert.equal(info.mode & 0o777, 0o700, `${file} is ${(info.mode & 0o777).toString(8)}`);
        else assert.equal(info.mode & 0o777, 0o600, `${file} is ${(info.mode & 0o777).toString(8)}`);
      }
    });
  }

  it('never writes API keys, tokens or Authorization headers to the data directory, the log, the admin API or the metrics', async () => {
    gateway = await start({ upstreamApiKey: UPSTREAM_SECRET });
    const base = gateway.url;
    const adminHeaders = { authorization: `Bearer ${gateway.context.adminToken}` };
    // The live event stream, read while the traffic runs: what the dashboard is sent.
    const live: string[] = [];
    const events = await fetch(`${base}/deja/v1/events`, { headers: adminHeaders });
    const reader = events.body!.getReader();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        live.push(Buffer.from(value!).toString('utf8'));
      }
    })();

    const withKey = {
      authorization: `Bearer ${CLIENT_SECRET}`,
      'x-api-key': HEADER_SECRET,
      'api-key': HEADER_SECRET,
      'openai-organization': HEADER_SECRET,
    };
    const send = (path: string, body: unknown, headers: Record<string, string> = withKey) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }).then((res) => res.text());
    await send('/v1/chat/completions', chatBody('What is a cache?'));
    await send('/v1/chat/completions', chatBody('What is a cache?'));
    await send('/v1/chat/completions', chatBody('What is a cache?', { stream: true }));
    await send('/v1/chat/completions', chatBody('Tell me about caches', { user: 'alice' }), {});
    await send('/v1/chat/completions', chatBody('Tell me about caches', { user: 'alice' }), {});
    await send('/v1/completions', { model: MODEL, prompt: 'Once upon a time', max_tokens: 8 });
    await send('/v1/embeddings', { model: MODEL, input: ['secret-free text'] });
    await send('/v1/chat/completions', chatBody('Write a function that adds numbers'));
    await send('/v1/chat/completions', chatBody('What is my account balance?'));
    await send('/v1/chat/completions', chatBody('an upstream failure'), { ...withKey, 'x-sim-fault': 'status:500' });
    await fetch(`${base}/v1/models`, { headers: withKey }).then((res) => res.text());
    await sleep(500);

    // Everything an admin or a scraper can read.
    const bodies: Array<[string, string]> = [];
    const read = async (path: string, headers: Record<string, string> = adminHeaders) => {
      const text = await fetch(`${base}${path}`, { headers }).then((res) => res.text());
      bodies.push([path, text]);
      return text;
    };
    await read('/health', {});
    await read('/metrics', {});
    await read('/deja/v1/stats?window=24h');
    await read('/deja/v1/skipped');
    const entries = JSON.parse(await read('/deja/v1/entries')) as { items: Array<{ id: string }> };
    assert.ok(entries.items.length >= 3);
    for (const item of entries.items) await read(`/deja/v1/entries/${item.id}`);
    await reader.cancel();
    bodies.push(['/deja/v1/events', live.join('')]);
    assert.match(live.join(''), /"type":"request"/);

    for (const [path, text] of bodies) for (const secret of SECRETS) assert.ok(!text.includes(secret), `${path} shows ${secret}`);
    // The search can find things: the prompts are there in plain text.
    assert.ok(bodies.some(([path, text]) => path.startsWith('/deja/v1/entries/') && text.includes('What is a cache?')));
    assert.ok(logLines.length > 0);
    for (const line of logLines) for (const secret of SECRETS) assert.ok(!line.includes(secret), `the log shows ${secret}: ${line}`);

    // On disk, once everything is flushed and closed.
    await gateway.close();
    gateway = undefined;
    const files = (await filesUnder(dataDir)).filter((file) => !file.endsWith('/models'));
    assert.ok(files.some((file) => file.endsWith('cache.sqlite')));
    let prompts = 0;
    for (const file of files) {
      if ((await stat(file)).isDirectory()) continue;
      const bytes = await readFile(file);
      if (bytes.includes('What is a cache?')) prompts++;
      for (const secret of SECRETS) {
        assert.ok(!bytes.includes(secret), `${file} holds ${secret}`);
        assert.ok(!bytes.includes(Buffer.from(secret, 'utf16le')), `${file} holds ${secret} (UTF-16)`);
      }
    }
    assert.ok(prompts > 0, 'the prompts were not found on disk either: the search reads nothing');
  });

  it('keeps the API token out of the log, the admin API and the disk when it is set', async () => {
    gateway = await start({ apiToken: API_TOKEN_SECRET, upstreamApiKey: UPSTREAM_SECRET });
    const base = gateway.url;
    const client = new OpenAI({ baseURL: gateway.baseUrl, apiKey: API_TOKEN_SECRET, maxRetries: 0 });
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'What is a cache?' }] });
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'What is a cache?' }] });
    await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${API_TOKEN_SECRET}-wrong` } }).then((res) => res.text());
    await sleep(300);
    const adminHeaders = { authorization: `Bearer ${gateway.context.adminToken}` };
    const texts = [
      await fetch(`${base}/health`).then((res) => res.text()),
      await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${API_TOKEN_SECRET}` } }).then((res) => res.text()),
      await fetch(`${base}/deja/v1/stats`, { headers: adminHeaders }).then((res) => res.text()),
      await fetch(`${base}/deja/v1/entries`, { headers: adminHeaders }).then((res) => res.text()),
    ];
    for (const text of [...texts, ...logLines])
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `shows ${secret}: ${text.slice(0, 200)}`);
    await gateway.close();
    gateway = undefined;
    for (const file of await filesUnder(dataDir)) {
      if ((await stat(file)).isDirectory()) continue;
      const bytes = await readFile(file);
      for (const secret of SECRETS) assert.ok(!bytes.includes(secret), `${file} holds ${secret}`);
    }
  });
});

describe('security: the dashboard webview CSP in Chromium', function () {
  this.timeout(60_000);

  before(function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
      this.skip();
    }
  });

  it('runs the nonce-bearing scripts and blocks inline script without the nonce, inline handlers, other scripts and eval', async () => {
    const { chromium } = await import('playwright-core');
    const nonce = 'dGVzdC1ub25jZS0xMjM0NTY3OA==';
    let origin = '';
    const server = http.createServer((req, res) => {
      if (req.url === '/') {
        const html = dashboardHtml(
          { cspSource: origin, script: `${origin}/main.js`, styles: `${origin}/main.css`, codicons: `${origin}/codicon.css` },
          nonce,
        );
        // What an injection into the page would add: only the script with this render's nonce may run.
        const injected = [
          `<script nonce="${nonce}">window.__nonced = true;</script>`,
          '<script>window.__inline = true;</script>',
          '<script nonce="bm90LXRoZS1ub25jZQ==">window.__wrongNonce = true;</script>',
          `<script src="${origin}/other.js"></script>`,
          '<img src="/missing.png" onerror="window.__handler = true">',
          '<a id="link" href="javascript:window.__javascriptUrl = true">x</a>',
        ].join('\n');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html.replace('</body>', `${injected}\n</body>`));
      } else if (req.url === '/main.js') {
        res
          .writeHead(200, { 'content-type': 'text/javascript' })
          .end(
            "window.__bundle = true; try { eval('window.__eval = true'); } catch (e) { window.__evalBlocked = true; } try { new Function('return 1')(); } catch (e) { window.__functionBlocked = true; }",
          );
      } else if (req.url === '/other.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end('window.__other = true;');
      } else if (req.url?.endsWith('.css')) {
        res.writeHead(200, { 'content-type': 'text/css' }).end('body { margin: 0; }');
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', () => resolvePromise()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => (globalThis as unknown as { __bundle?: boolean }).__bundle === true);
      await page.click('#link').catch(() => {});
      await page.waitForTimeout(300);
      const flags = await page.evaluate(() => {
        const w = globalThis as unknown as Record<string, unknown>;
        return Object.fromEntries(
          [
            '__bundle',
            '__nonced',
            '__inline',
            '__wrongNonce',
            '__other',
            '__handler',
            '__javascriptUrl',
            '__eval',
            '__evalBlocked',
            '__functionBlocked',
          ].map((name) => [name, w[name] ?? null]),
        );
      });
      assert.deepEqual(flags, {
        __bundle: true,
        __nonced: true,
        __inline: null,
        __wrongNonce: null,
        __other: null,
        __handler: null,
        __javascriptUrl: null,
        __eval: null,
        __evalBlocked: true,
        __functionBlocked: true,
      });
      assert.ok(violations.length >= 4, `expected CSP violation reports, got: ${violations.join('\n')}`);
      assert.ok(violations.some((text) => /inline script/i.test(text)));
    } finally {
      await browser.close();
      server.closeAllConnections();
      await new Promise((resolvePromise) => server.close(resolvePromise));
    }
  });
});

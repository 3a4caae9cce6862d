import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { formatNumberReport, runNumberCampaign } from '../../scripts/fuzzNumbers';
import { campaignPassed, formatReport, runCampaign } from '../fixtures/fuzz/fuzzCampaign';
import { chatBody, MODEL, sleep, startHarness, type Harness } from './harness';

/**
 * A short, seeded run of the hostile-input campaign (`npm run fuzz` runs the long one):
 * every endpoint, the admin API included, gets mutated and malformed requests. It fails on
 * a 5xx of the gateway's own, an error not in the OpenAI shape, a wrong guard verdict,
 * a crash or an error in the gateway's log, a polluted prototype, a lost entry or an
 * unhealthy gateway. Replay a failure with `npm run fuzz -- --seed <seed> --case <n>`.
 */
describe('hostile input (seeded fuzz)', function () {
  this.timeout(120_000);

  it('survives 400 hostile requests to every endpoint: no gateway 5xx, every error in the OpenAI shape', async () => {
    const report = await runCampaign({ seed: 20_240_601, requests: 400, batchSize: 100 });
    assert.equal(report.requests, 400);
    // Every surface was reached: the cached endpoints, pass-through, health, metrics and the admin API.
    const targets = [...report.byTarget.keys()];
    for (const expected of [
      'POST /v1/chat/completions',
      'POST /v1/completions',
      'POST /v1/embeddings',
      'pass-through /v1/*',
      'GET /health',
      'GET /metrics',
      'raw HTTP',
    ]) {
      assert.ok(targets.includes(expected), `no case for ${expected}: ${targets.join(', ')}`);
    }
    assert.ok(targets.filter((target) => target.startsWith('admin ')).length >= 5, `too few admin routes: ${targets.join(', ')}`);
    assert.ok(campaignPassed(report), formatReport(report));
  });

  it('does the same with --api-token on, and never forwards the token upstream', async () => {
    const report = await runCampaign({ seed: 20_240_602, requests: 200, batchSize: 100, apiToken: 'deja-fuzz-gateway-token' });
    const unauthorized = [...report.byTarget.values()].reduce((sum, counts) => sum + (counts.get('401') ?? 0), 0);
    assert.ok(unauthorized > 0, 'no request was refused for a missing or wrong token');
    assert.ok(campaignPassed(report), formatReport(report));
  });

  it('gives requests that differ only in a number a double does not keep two entries, each its own answer (issue 14)', async () => {
    const report = await runNumberCampaign({ seed: 20_240_603, pairs: 60 });
    assert.equal(report.pairs, 60);
    assert.equal(report.upstreamCalls, 120, formatNumberReport(report));
    assert.equal(report.failures.length, 0, formatNumberReport(report));
  });
});

/** Raw bytes in, the raw answer out (the connection is closed by the server or after `waitMs`). */
function exchange(port: number, bytes: string | Buffer, waitMs = 3000): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let data = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = data.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
        head: text.slice(0, end),
        body: end < 0 ? '' : text.slice(end + 4),
      });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
    socket.on('close', finish);
    socket.on('error', finish);
  });
}

function openAiError(body: string): { message: string; type: string; code: string } {
  const parsed = JSON.parse(body) as { error: { message: string; type: string; code: string } };
  assert.equal(typeof parsed.error.message, 'string');
  assert.equal(typeof parsed.error.type, 'string');
  assert.ok('code' in parsed.error);
  return parsed.error;
}

/** Each of these was a finding of `npm run fuzz`; the inputs are the smallest that showed it. */
describe('hostile input: what the fuzzer found', function () {
  this.timeout(30_000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('refuses a body nested deeper than 128 levels with a 400 (it overflowed the stack of the cache key: a 500)', async () => {
    for (const where of ['extra', 'stop']) {
      const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
      const res = await h.post(
        '/v1/chat/completions',
        `{"model":"${MODEL}","messages":[{"role":"user","content":"deep"}],"${where}":${deep}}`,
      );
      assert.equal(res.status, 400);
      assert.equal(openAiError(await res.text()).code, 'invalid_body');
    }
    const fine = await h.post(
      '/v1/chat/completions',
      chatBody('not so deep', { extra: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) }),
    );
    assert.equal(fine.status, 200);
    assert.equal(h.logger.lines.filter((line) => line.level === 'error').length, 0);
  });

  it('refuses a number that overflows to Infinity (1e999 and -1e999 shared the key of null)', async () => {
    const res = await h.post('/v1/chat/completions', `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"top_k":1e999}`);
    assert.equal(res.status, 400);
    assert.equal(openAiError(await res.text()).code, 'invalid_value');
    const inString = await h.post('/v1/chat/completions', chatBody('the number 1e999 in a string is text'));
    assert.equal(inString.status, 200);
  });

  it('refuses invalid UTF-8 instead of decoding it to U+FFFD (two different bodies, one key)', async () => {
    const head = Buffer.from(`{"model":"${MODEL}","messages":[{"role":"user","content":"a`);
    const tail = Buffer.from('b"}]}');
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80]]) {
      const res = await fetch(`${h.gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat([head, Buffer.from(bad), tail]),
      });
      assert.equal(res.status, 400);
      assert.equal(openAiError(await res.text()).code, 'invalid_json');
    }
    assert.equal(h.sim.calls('/v1/chat/completions'), 0);
  });

  it('answers a malformed percent-escape in a /v1 path with a 400 (it was a 500)', async () => {
    for (const path of ['/v1/%', '/v1/%E0%A4%A', '/v1/models/%ZZ']) {
      const res = await fetch(`${h.gateway.url}${path}`);
      assert.equal(res.status, 400, path);
      assert.equal(openAiError(await res.text()).code, 'invalid_path');
    }
    assert.equal(h.logger.lines.filter((line) => line.level === 'error').length, 0);
  });

  it('frames the body of a passed-through GET, so it cannot become a second request upstream', async () => {
    const seen: Array<{ method: string; url: string; body: string }> = [];
    const upstream = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
    const proxied = await startHarness({
      upstream: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}/v1`,
      gateway: { vllmMetricsIntervalMs: 0 },
    });
    try {
      const smuggled = 'GET /v1/smuggled HTTP/1.1\r\nHost: upstream\r\n\r\n';
      const answer = await exchange(
        proxied.gateway.port,
        `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`,
      );
      assert.equal(answer.status, 200);
      await sleep(100);
      assert.deepEqual(seen, [{ method: 'GET', url: '/v1/models', body: smuggled }]);
    } finally {
      await proxied.close();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it('answers what Node would refuse with an empty body (bad HTTP, huge headers, no Host, CONNECT) in the OpenAI shape', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['invalid method', 'FOO / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, 'invalid_http_request'],
      [
        'two Content-Lengths',
        'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
        400,
        'invalid_http_request',
      ],
      [
        'huge header',
        `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
        431,
        'request_header_fields_too_large',
      ],
      ['no Host', 'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'missing_host'],
      ['CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', 405, 'method_not_allowed'],
    ];
    for (const [name, bytes, status, code] of cases) {
      const answer = await exchange(h.gateway.port, bytes);
      assert.equal(answer.status, status, name);
      assert.equal(openAiError(answer.body).code, code, name);
    }
    // The gateway still serves after all of them.
    assert.equal((await fetch(`${h.gateway.url}/health`)).status, 200);
  });

  it('does not clear the cache on DELETE /deja/v1/entries/ (an entry path with an empty id)', async () => {
    await (await h.post('/v1/chat/completions', chatBody('keep me'))).text();
    await sleep(50);
    const admin = { authorization: `Bearer ${h.gateway.context.adminToken}` };
    const emptyId = await fetch(`${h.gateway.url}/deja/v1/entries/`, { method: 'DELETE', headers: admin });
    assert.equal(emptyId.status, 400);
    assert.equal(openAiError(await emptyId.text()).code, 'invalid_value');
    const hit = await h.post('/v1/chat/completions', chatBody('keep me'));
    assert.equal(hit.headers.get('x-deja-cache'), 'HIT');
    await hit.text();
    // Clearing on purpose still works.
    const cleared = await fetch(`${h.gateway.url}/deja/v1/entries`, { method: 'DELETE', headers: admin });
    assert.deepEqual(await cleared.json(), { evicted: 1 });
  });

  it('answers HEAD on the live events stream instead of holding the connection open without headers', async () => {
    const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        `${h.gateway.url}/deja/v1/events`,
        { method: 'HEAD', headers: { authorization: `Bearer ${h.gateway.context.adminToken}` }, timeout: 3000 },
        resolve,
      );
      req.on('timeout', () => req.destroy(new Error('no answer to HEAD /deja/v1/events')));
      req.on('error', reject);
      req.end();
    });
    answer.resume();
    assert.equal(answer.statusCode, 200);
    assert.match(answer.headers['content-type'] ?? '', /text\/event-stream/);
  });
});

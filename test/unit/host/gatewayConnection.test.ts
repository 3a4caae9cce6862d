import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayConnection } from '../../../src/host/gatewayConnection';
import type { GatewayController } from '../../../src/host/gatewayController';
import { ADMIN_BASE, type GatewayStatusDto, type LiveEventDto, type StatsDto } from '../../../src/shared/protocol';
import { listen, recordingLogger, type TestServer } from './fakes';

/** Just what the connection reads from a controller: its status, its data directory, its changes. */
class FakeController {
  current: GatewayStatusDto = { state: 'off', url: null, message: null, owned: false };
  dataDir: string | undefined;
  private readonly listeners = new Set<(status: GatewayStatusDto) => void>();
  onDidChange(listener: (status: GatewayStatusDto) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(status: GatewayStatusDto) {
    this.current = status;
    for (const listener of this.listeners) listener(status);
  }
}

const waitFor = async (condition: () => boolean, what: string, ms = 3000) => {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), `timed out waiting for ${what}`);
};

describe('GatewayConnection', function () {
  let server: TestServer;
  let dataDir: string;
  let statsCalls: number;
  let streams: http.ServerResponse[];
  let controller: FakeController;
  let connection: GatewayConnection;

  beforeEach(async () => {
    statsCalls = 0;
    streams = [];
    dataDir = await mkdtemp(join(tmpdir(), 'deja-connection-'));
    await writeFile(join(dataDir, 'admin-token'), 'secret\n');
    server = await listen((request, response) => {
      if (request.headers.authorization !== 'Bearer secret') {
        response.writeHead(401).end();
        return;
      }
      if (request.url === `${ADMIN_BASE}/events`) {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.flushHeaders();
        streams.push(response);
        return;
      }
      if (request.url?.startsWith(`${ADMIN_BASE}/stats`)) {
        statsCalls++;
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ requests: statsCalls, cache: { caching: true } }));
        return;
      }
      response.writeHead(404).end();
    });
    controller = new FakeController();
    connection = new GatewayConnection(controller as unknown as GatewayController, recordingLogger());
  });

  afterEach(async () => {
    connection.dispose();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const goUp = () => {
    controller.dataDir = dataDir;
    controller.set({ state: 'running', url: server.url, message: null, owned: true });
  };
  const push = (event: LiveEventDto) => {
    for (const stream of streams) stream.write(`data: ${JSON.stringify(event)}\n\n`);
  };

  it('has no admin client while no gateway is up', () => {
    assert.equal(connection.admin, undefined);
    assert.equal(connection.latestStats, undefined);
  });

  it('connects when the gateway comes up: stats at once, and the live events', async () => {
    const seen: Array<StatsDto | undefined> = [];
    const events: LiveEventDto[] = [];
    connection.onStats((stats) => seen.push(stats));
    connection.onEvent((event) => events.push(event));
    goUp();
    assert.equal(connection.admin?.url, server.url);
    await waitFor(() => seen.length === 1 && streams.length === 1, 'the first stats and the event stream');
    assert.equal(connection.latestStats?.requests, 1);
    push({ type: 'caching/changed', enabled: false });
    await waitFor(() => events.length === 1, 'the event');
    assert.deepEqual(events, [{ type: 'caching/changed', enabled: false }]);
  });

  it('refreshes the stats about a second after requests, once for a burst', async () => {
    goUp();
    await waitFor(() => statsCalls === 1 && streams.length === 1, 'the first poll');
    const event = { type: 'request', event: { outcome: 'HIT' } } as unknown as LiveEventDto;
    push(event);
    push(event);
    push(event);
    const pushedAt = Date.now();
    await waitFor(() => statsCalls === 2, 'a poll brought forward', 3000);
    const after = Date.now() - pushedAt;
    assert.ok(after >= 900 && after < 4000, `polled ${after} ms after the burst, not at the 5 s interval`);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(statsCalls, 2, 'one poll for the whole burst');
  });

  it('disconnects when the gateway goes down: no client, stats cleared, stream closed', async () => {
    const seen: Array<StatsDto | undefined> = [];
    connection.onStats((stats) => seen.push(stats));
    goUp();
    await waitFor(() => seen.length === 1 && streams.length === 1, 'connected');
    const closed = new Promise<void>((resolve) => streams[0]!.once('close', () => resolve()));
    controller.set({ state: 'off', url: null, message: null, owned: false });
    assert.equal(connection.admin, undefined);
    assert.equal(connection.latestStats, undefined);
    assert.equal(seen.at(-1), undefined);
    await closed;
    const calls = statsCalls;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(statsCalls, calls);
  });

  it('reconnects the event stream when it drops', async function () {
    this.timeout(8000);
    goUp();
    await waitFor(() => streams.length === 1, 'the stream');
    streams[0]!.end();
    await waitFor(() => streams.length === 2, 'a new stream', 5000);
  });
});

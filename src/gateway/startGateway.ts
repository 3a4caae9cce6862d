import { mkdir, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LlmCache } from '../core/llmCache';
import { createLogger, type Logger } from '../core/logger';
import type { GatewayOptions } from '../core/options';
import type { ExactStore } from '../core/stores/exactStore';
import { HotExactStore } from '../core/stores/hotExactStore';
import { MemoryExactStore } from '../core/stores/memoryExactStore';
import { SqliteExactStore } from '../core/stores/sqliteExactStore';
import { createApp } from './createApp';
import type { GatewayContext } from './gatewayContext';
import { Upstream } from './upstream';

export interface RunningGateway {
  /** The gateway's root, e.g. http://127.0.0.1:8787 */
  url: string;
  /** What to paste into a tool's "OpenAI base URL". */
  baseUrl: string;
  port: number;
  context: GatewayContext;
  close(): Promise<void>;
}

/** The file name of the SQLite database inside the data directory. */
export const DATABASE_FILE = 'cache.sqlite';
const SWEEP_INTERVAL_MS = 60_000;
const CLOSE_GRACE_MS = 2_000;
/** Memory for recently used entries in front of SQLite. */
const HOT_TIER_BYTES = 64 * 1024 * 1024;

/** Creates the data directory owner-only when Deja makes it; an existing one is left as the user set it. */
async function ensureDataDir(dir: string): Promise<void> {
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new Error(`the data path ${dir} exists and is not a directory`);
  if (!existing) await mkdir(dir, { recursive: true, mode: 0o700 });
}

async function openStore(options: GatewayOptions, logger: Logger): Promise<ExactStore> {
  if (options.dataDir === null) return new MemoryExactStore();
  await ensureDataDir(options.dataDir);
  const sqlite = await SqliteExactStore.open({
    file: join(options.dataDir, DATABASE_FILE),
    onError: (error) => logger.warn('cache database error', { error }),
  });
  return new HotExactStore(sqlite, HOT_TIER_BYTES);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(new Error(`port ${port} on ${host} is already in use (another Deja? check http://${host}:${port}/health), or pick another with --port`));
      } else reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Opens the stores, binds the HTTP server and returns once it accepts connections. */
export async function startGateway(options: GatewayOptions, logger: Logger = createLogger(options.logLevel)): Promise<RunningGateway> {
  const store = await openStore(options, logger);
  const cache = new LlmCache({ exact: store, logger });
  const upstream = new Upstream({ baseUrl: options.upstream, timeoutMs: options.upstreamTimeoutMs });
  const context: GatewayContext = { options, cache, upstream, logger, flights: new Map(), startedAt: Date.now() };
  const httpServer = createServer(createApp(context));
  try {
    await listen(httpServer, options.host, options.port);
  } catch (error) {
    await cache.close().catch(() => {});
    upstream.close();
    throw error;
  }
  const sweeper = setInterval(() => void cache.sweepExpired(), SWEEP_INTERVAL_MS);
  sweeper.unref();
  const port = (httpServer.address() as AddressInfo).port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${hostForUrl}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    baseUrl: `${url}/v1`,
    port,
    context,
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeIdleConnections();
          // Streams still running get a moment to finish, then are cut.
          setTimeout(() => httpServer.closeAllConnections(), CLOSE_GRACE_MS).unref();
        });
        upstream.close();
        await cache.close();
      })();
      return closing;
    },
  };
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Embedder } from '../core/embeddings/embedder';
import { createLogger, type Logger } from '../core/logger';
import { openCache } from '../core/openCache';
import { Policy, resolvePolicy } from '../core/policy/policy';
import { PrefixStabilityTracker } from '../core/prefixStability';
import { loadOrCreateAdminToken } from './adminAuth';
import { answerClientError, refuseConnect } from './httpErrors';
import { LiveEvents } from './liveEvents';
import { GatewayMetrics } from './promMetrics';
import { Revalidator } from './revalidator';
import { VllmScraper } from './vllmScraper';
import type { GatewayOptions } from '../core/options';
import { createApp } from './createApp';
import type { GatewayContext } from './gatewayContext';
import { Upstream } from './upstream';
import type { LlmCache } from '../core/llmCache';
import { EmbeddingJudge, ExactJudge, type AnswerJudge } from '../core/semantic/judge/answerJudge';
import { LlmJudge } from './llmJudge';

const SWEEP_INTERVAL_MS = 60_000;
const CLOSE_GRACE_MS = 2_000;

/** Parts a caller may supply instead of the defaults: tests inject a deterministic embedder. */
export interface GatewayDeps {
  logger?: Logger;
  embedder?: Embedder;
}

export interface RunningGateway {
  /** The gateway's root, e.g. http://127.0.0.1:8787 */
  url: string;
  /** What to paste into a tool's "OpenAI base URL". */
  baseUrl: string;
  port: number;
  context: GatewayContext;
  close(): Promise<void>;
}

/** The judge the options name: the answers' embeddings (at the staleness threshold), their text, or the upstream model asked. */
function answerJudge(options: GatewayOptions, cache: LlmCache, upstream: Upstream, logger: Logger): AnswerJudge {
  if (options.answerJudge === 'exact') return new ExactJudge();
  if (options.answerJudge === 'llm') return new LlmJudge(upstream, logger);
  return new EmbeddingJudge((texts) => cache.semantic?.embedTexts(texts) ?? Promise.resolve(undefined), options.staleThreshold);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(
          new Error(
            `port ${port} on ${host} is already in use (another Deja? check http://${host}:${port}/health), or pick another with --port`,
          ),
        );
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
export async function startGateway(given: GatewayOptions, deps: GatewayDeps = {}): Promise<RunningGateway> {
  // A copy: the admin API may switch caching on and off at run time.
  const options: GatewayOptions = { ...given };
  const { logger = createLogger(options.logLevel), embedder } = deps;
  const policy = new Policy(resolvePolicy(options.policy));
  const opened = await openCache(options, logger, embedder);
  const { cache, events } = opened;
  const upstream = new Upstream({ baseUrl: options.upstream, timeoutMs: options.upstreamTimeoutMs });
  const vllm = new VllmScraper(
    upstream,
    options.vllmMetricsIntervalMs,
    logger,
    options.upstreamApiKey ? `Bearer ${options.upstreamApiKey}` : undefined,
  );
  const metrics = new GatewayMetrics({
    entries: async () => (await cache.catalog?.list({ sort: 'created', order: 'desc', offset: 0, limit: 0 }))?.total,
    vectors: () => cache.semantic?.status().entries,
    vllmPrefixCacheHitRate: () => {
      const figure = vllm.figures().prefixCacheHitRate;
      return figure.available ? figure.value : undefined;
    },
    vllmKvCacheUsage: () => {
      const figure = vllm.figures().kvCacheUsage;
      return figure.available ? figure.value : undefined;
    },
  });
  const live = new LiveEvents();
  events.subscribe((event) => {
    metrics.observe(event);
    live.publish({ type: 'request', event });
  });
  // Other gateways' stores and evictions: into this gateway's index, and onto the dashboard.
  opened.team?.follow({
    semantic: cache.semantic,
    catalog: cache.catalog,
    onChange: (reason) => live.publish({ type: 'entries/changed', reason }),
  });
  const judge = answerJudge(options, cache, upstream, logger);
  const context: GatewayContext = {
    options,
    cache,
    team: opened.team,
    upstream,
    logger,
    flights: new Map(),
    startedAt: Date.now(),
    policy,
    events,
    prefixStability: new PrefixStabilityTracker(),
    vllm,
    metrics,
    revalidator: new Revalidator({
      cache,
      upstream,
      events,
      metrics,
      logger,
      share: options.revalidateShare,
      staleThreshold: options.staleThreshold,
      judge,
    }),
    judge,
    live,
    adminToken: await loadOrCreateAdminToken(options.dataDir),
  };
  // Host is checked by the app instead, so that a request without one gets an OpenAI-shaped 400.
  const httpServer = createServer({ requireHostHeader: false }, createApp(context));
  httpServer.on('clientError', answerClientError);
  httpServer.on('connect', refuseConnect);
  try {
    await listen(httpServer, options.host, options.port);
  } catch (error) {
    upstream.close();
    await opened.close().catch(() => {});
    throw error;
  }
  vllm.start();
  const sweeper = setInterval(() => {
    void cache.sweepExpired().then((expired) => expired > 0 && live.publish({ type: 'entries/changed', reason: 'expired' }));
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();
  const port = (httpServer.address() as AddressInfo).port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${hostForUrl}:${port}`;
  await opened.lock?.setUrl(url);
  let closing: Promise<void> | undefined;
  return {
    url,
    baseUrl: `${url}/v1`,
    port,
    context,
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        vllm.stop();
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeIdleConnections();
          // Streams still running get a moment to finish, then are cut.
          setTimeout(() => httpServer.closeAllConnections(), CLOSE_GRACE_MS).unref();
        });
        upstream.close();
        await opened.close();
      })();
      return closing;
    },
  };
}

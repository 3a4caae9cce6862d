import type { RequestListener } from 'node:http';
import express from 'express';
import { ENDPOINT_PATHS } from '../core/types';
import { apiTokenAuth } from './apiToken';
import { answerError, errorMiddleware, notFound } from './errors';
import { isLoopback, loopbackHostGuard } from './hostGuard';
import { requireHostHeader } from './httpErrors';
import type { GatewayContext } from './gatewayContext';
import { jsonBody } from './jsonBody';
import { pipeline, type Middleware } from './pipeline';
import { cachedEndpoint } from './routes/cachedEndpoint';
import { healthEndpoint } from './routes/health';
import { adminRouter } from './routes/admin';
import { proxyEndpoint } from './routes/proxy';
import { ADMIN_BASE, ENDPOINTS } from '../shared/protocol';

/**
 * The path a route is matched on, as express matches it: without the query string,
 * case-insensitive, a trailing slash allowed.
 */
export function routePath(url: string | undefined): string {
  const query = url?.indexOf('?') ?? -1;
  const path = (query < 0 ? (url ?? '') : url!.slice(0, query)).toLowerCase();
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * The gateway's request handler, without listening: tests mount it on port 0.
 * `POST` to a cached endpoint runs its steps directly (see `pipeline`); every other
 * request goes through express.
 */
export function createApp(context: GatewayContext): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // --api-token guards the OpenAI endpoints and /metrics; /health stays open for liveness probes.
  const apiToken = context.options.apiToken ? [apiTokenAuth(context.options.apiToken)] : [];
  // Bound to loopback, the OpenAI endpoints and /metrics answer only to loopback names (DNS rebinding).
  const hostGuard = isLoopback(context.options.host) ? [loopbackHostGuard()] : [];
  const guards: Middleware[] = [...hostGuard, ...apiToken];

  app.use(requireHostHeader());
  app.get('/health', healthEndpoint(context));
  app.get('/metrics', ...guards, async (_req, res) => {
    res.setHeader('content-type', context.metrics.registry.contentType);
    res.end(await context.metrics.text());
  });
  app.use(ADMIN_BASE, adminRouter(context));
  if (guards.length) app.use('/v1', ...guards);
  app.all('/v1/*path', proxyEndpoint(context));
  app.use((req, _res, next) => {
    next(notFound({ code: 'not_found', message: `No route for ${req.method} ${req.path}; Deja serves the OpenAI API under /v1` }));
  });
  app.use(errorMiddleware(context.logger));

  const json = jsonBody(context.options.maxBodyBytes);
  const onError = answerError(context.logger);
  const cached = new Map<string, RequestListener>(
    ENDPOINTS.map((endpoint) => [
      `/v1${ENDPOINT_PATHS[endpoint]}`,
      pipeline([requireHostHeader(), ...guards, json, cachedEndpoint(endpoint, context)], onError),
    ]),
  );
  return (req, res) => {
    const direct = req.method === 'POST' ? cached.get(routePath(req.url)) : undefined;
    if (direct) direct(req, res);
    else app(req, res);
  };
}

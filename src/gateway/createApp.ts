import express, { type Express } from 'express';
import type { Endpoint } from '../core/types';
import { ENDPOINT_PATHS } from '../core/types';
import { apiTokenAuth } from './apiToken';
import { errorMiddleware, GatewayError } from './errors';
import { isLoopback, loopbackHostGuard } from './hostGuard';
import { requireHostHeader } from './httpErrors';
import type { GatewayContext } from './gatewayContext';
import { jsonBody } from './jsonBody';
import { cachedEndpoint } from './routes/cachedEndpoint';
import { healthEndpoint } from './routes/health';
import { adminRouter } from './routes/admin';
import { proxyEndpoint } from './routes/proxy';
import { ADMIN_BASE } from '../shared/protocol';

const CACHED_ENDPOINTS: readonly Endpoint[] = ['chat.completions', 'completions', 'embeddings'];

/** The gateway's routes and middleware, without listening: tests mount it on port 0. */
export function createApp(context: GatewayContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const json = jsonBody(context.options.maxBodyBytes);
  // --api-token guards the OpenAI endpoints and /metrics; /health stays open for liveness probes.
  const apiToken = context.options.apiToken ? [apiTokenAuth(context.options.apiToken)] : [];
  // Bound to loopback, the OpenAI endpoints and /metrics answer only to loopback names (DNS rebinding).
  const hostGuard = isLoopback(context.options.host) ? [loopbackHostGuard()] : [];

  app.use(requireHostHeader());
  app.get('/health', healthEndpoint(context));
  app.get('/metrics', ...hostGuard, ...apiToken, async (_req, res) => {
    res.setHeader('content-type', context.metrics.registry.contentType);
    res.end(await context.metrics.text());
  });
  app.use(ADMIN_BASE, adminRouter(context));
  if (hostGuard.length || apiToken.length) app.use('/v1', ...hostGuard, ...apiToken);
  for (const endpoint of CACHED_ENDPOINTS) {
    app.post(`/v1${ENDPOINT_PATHS[endpoint]}`, json, cachedEndpoint(endpoint, context));
  }
  app.all('/v1/*path', proxyEndpoint(context));
  app.use((req, _res, next) => {
    next(new GatewayError(404, 'invalid_request_error', 'not_found', `No route for ${req.method} ${req.path}; Deja serves the OpenAI API under /v1`));
  });
  app.use(errorMiddleware(context.logger));
  return app;
}

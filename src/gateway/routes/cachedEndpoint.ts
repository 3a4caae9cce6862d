import { validateRequest } from '../../core/validateRequest';
import type { Endpoint, JsonObject } from '../../core/types';
import { invalidRequest } from '../errors';
import type { GatewayContext } from '../gatewayContext';
import { jsonBodyOf } from '../jsonBody';
import type { Middleware } from '../pipeline';
import { CachedRequest } from './cachedRequest';

/**
 * POST /v1/chat/completions, /v1/completions and /v1/embeddings: validate, then take the
 * request through its steps (CachedRequest): the policy, the exact and semantic lookups,
 * and on a miss a forwarded exchange that identical requests share. Every request leaves an event.
 */
export function cachedEndpoint(endpoint: Endpoint, context: GatewayContext): Middleware {
  return async (req, res) => {
    const body = jsonBodyOf(req);
    const problem = validateRequest(endpoint, body);
    if (problem) throw invalidRequest(problem);
    await new CachedRequest(endpoint, context, req, res, body as JsonObject).handle();
  };
}

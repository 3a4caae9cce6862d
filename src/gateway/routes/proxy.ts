import type { RequestHandler } from 'express';
import type { GatewayContext } from '../gatewayContext';
import { sendGatewayError } from '../respond';
import { forwardableHeaders, toGatewayError } from '../upstream';

/** Upstream headers not passed back: hop-by-hop ones. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

/**
 * Any other `/v1/*` call (models, tokenize, audio...): passed through as it is,
 * body streamed both ways, never cached.
 */
export function proxyEndpoint(context: GatewayContext): RequestHandler {
  return async (req, res) => {
    const headers = forwardableHeaders(req.headers, ['authorization']);
    const authorization =
      req.headers.authorization ?? (context.options.upstreamApiKey ? `Bearer ${context.options.upstreamApiKey}` : undefined);
    if (authorization) headers.authorization = authorization;
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    // Frame the body explicitly: Node sends a GET or DELETE body unframed otherwise, and the upstream
    // would read it as the next request on a kept-alive connection another client then shares.
    if (hasBody) {
      if (req.headers['transfer-encoding'] === undefined) headers['content-length'] = req.headers['content-length'];
      else headers['transfer-encoding'] = 'chunked';
    }
    let upstreamResponse;
    try {
      upstreamResponse = await context.upstream.request({
        method: req.method,
        path: req.url.replace(/^\/v1/, ''),
        headers,
        body: hasBody ? req : undefined,
      });
    } catch (error) {
      sendGatewayError(res, toGatewayError(error, context.upstream.baseUrl), { 'x-deja-cache': 'BYPASS' });
      return;
    }
    const responseHeaders: Record<string, string | string[]> = { 'x-deja-cache': 'BYPASS' };
    for (const [name, value] of Object.entries(upstreamResponse.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) responseHeaders[name] = value;
    }
    res.writeHead(upstreamResponse.status, responseHeaders);
    res.once('close', () => {
      if (!upstreamResponse.body.complete) upstreamResponse.abort();
    });
    upstreamResponse.body.on('error', () => res.destroy());
    upstreamResponse.body.pipe(res);
  };
}

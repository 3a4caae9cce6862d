import type { RequestHandler } from 'express';
import type { HealthDto } from '../../shared/protocol';
import { PRODUCT_NAME, VERSION } from '../../version';
import type { GatewayContext } from '../gatewayContext';

/** `GET /health`: what the gateway is and how its levels are doing, as `HealthDto` in the protocol. */
export function healthEndpoint(context: GatewayContext): RequestHandler {
  return (_req, res) => {
    const report: HealthDto = {
      name: PRODUCT_NAME,
      version: VERSION,
      pid: process.pid,
      dataDir: context.options.dataDir,
      upstream: context.upstream.baseUrl,
      caching: context.options.cachingEnabled,
      uptimeSeconds: Math.round((Date.now() - context.startedAt) / 1000),
      semantic: context.cache.semantic?.status() ?? { state: 'off', reason: 'switched off (--semantic off)' },
      shared: context.team?.status() ?? null,
    };
    res.json(report);
  };
}

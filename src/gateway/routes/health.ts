import type { RequestHandler } from 'express';
import { PRODUCT_NAME, VERSION } from '../../version';
import type { GatewayContext } from '../gatewayContext';

/** The shape of `GET /health`: also how a second window recognizes a running Deja. */
export interface HealthReport {
  name: typeof PRODUCT_NAME;
  version: string;
  pid: number;
  dataDir: string | null;
  upstream: string;
  caching: boolean;
  uptimeSeconds: number;
}

export function healthEndpoint(context: GatewayContext): RequestHandler {
  return (_req, res) => {
    const report: HealthReport = {
      name: PRODUCT_NAME,
      version: VERSION,
      pid: process.pid,
      dataDir: context.options.dataDir,
      upstream: context.upstream.baseUrl,
      caching: context.options.cachingEnabled,
      uptimeSeconds: Math.round((Date.now() - context.startedAt) / 1000),
    };
    res.json(report);
  };
}

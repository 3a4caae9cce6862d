import type { RequestHandler } from 'express';
import type { SemanticStatus } from '../../core/semantic/semanticCache';
import type { SharedTierStatus } from '../../core/shared/sharedTier';
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
  /** The semantic level: off, idle (waiting for a first request), loading, ready or failed, and why. */
  semantic: SemanticStatus | { state: 'off'; reason: string };
  /** The team tier: null when none is configured; otherwise its state (`down` means local only for now). */
  shared: SharedTierStatus | null;
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
      semantic: context.cache.semantic?.status() ?? { state: 'off', reason: 'switched off (--semantic off)' },
      shared: context.shared?.status() ?? null,
    };
    res.json(report);
  };
}

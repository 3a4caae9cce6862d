import type { Logger } from '../core/logger';
import { parsePrometheus, readVllm, vllmFigures, type VllmReading } from '../core/vllmMetrics';
import type { VllmFiguresDto } from '../shared/protocol';
import { readBody, type Upstream } from './upstream';

const HISTORY = 240;
const MAX_METRICS_BYTES = 8 * 1024 * 1024;

/**
 * Reads the upstream vLLM server's own `/metrics` on an interval: its prefix-cache
 * hit rate (from counter deltas) and KV-cache usage, beside Deja's own figures.
 */
export class VllmScraper {
  private previous: VllmReading | undefined;
  private current: VllmReading | undefined;
  private error: string | undefined;
  private readonly history: VllmFiguresDto['history'] = [];
  private timer: NodeJS.Timeout | undefined;
  private warned = false;

  constructor(
    private readonly upstream: Upstream,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly authorization: string | undefined,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    void this.scrape();
    this.timer = setInterval(() => void this.scrape(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  figures(): VllmFiguresDto {
    if (this.intervalMs <= 0) return vllmFigures(undefined, undefined, 'scraping is off (--vllm-metrics-interval 0)', []);
    return vllmFigures(this.previous, this.current, this.error, this.history);
  }

  /** One scrape; never throws (a failure is reported as unavailable figures). */
  async scrape(): Promise<void> {
    try {
      const response = await this.upstream.request({
        method: 'GET',
        path: '/metrics',
        root: true,
        headers: this.authorization ? { authorization: this.authorization, accept: 'text/plain' } : { accept: 'text/plain' },
      });
      const body = (await readBody(response.body, MAX_METRICS_BYTES)).toString('utf8');
      if (response.status !== 200) throw new Error(`the upstream answered GET /metrics with ${response.status}`);
      const reading = readVllm(parsePrometheus(body), Date.now());
      this.previous = this.current;
      this.current = reading;
      this.error = undefined;
      const figures = vllmFigures(this.previous, this.current, undefined, []);
      this.history.push({
        at: reading.at,
        prefixCacheHitRate: figures.prefixCacheHitRate.available ? figures.prefixCacheHitRate.value : null,
        kvCacheUsage: figures.kvCacheUsage.available ? figures.kvCacheUsage.value : null,
      });
      if (this.history.length > HISTORY) this.history.shift();
      this.warned = false;
    } catch (error) {
      this.error = `cannot read the upstream's /metrics: ${(error as Error).message}`;
      if (!this.warned) this.logger.info(this.error);
      this.warned = true;
    }
  }
}

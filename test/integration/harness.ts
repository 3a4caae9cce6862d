import { setTimeout as delay } from 'node:timers/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { Embedder } from '../../src/core/embeddings/embedder';
import type { Logger } from '../../src/core/logger';
import { DEFAULT_OPTIONS, type GatewayOptions } from '../../src/core/options';
import { startGateway, type RunningGateway } from '../../src/gateway/startGateway';
import { SimVllm, type SimConfig } from '../fixtures/simVllm';

/** A logger that keeps what it is told, for assertions; silent on the console. */
export class CapturingLogger implements Logger {
  readonly lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  error = (message: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'error', message, fields });
  warn = (message: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'warn', message, fields });
  info = (message: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'info', message, fields });
  debug = (_message: string, _fields?: Record<string, unknown>) => {};
}

export interface Harness {
  sim: SimVllm;
  gateway: RunningGateway;
  /** The official SDK pointed at the gateway. */
  client: OpenAI;
  dataDir: string;
  logger: CapturingLogger;
  /** A raw POST to the gateway, for what the SDK hides (headers, exact bytes). */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export const MODEL = 'sim-llama-3-8b';
export const REASONING_MODEL = 'sim-reasoning-7b';

/** The real gateway on port 0 with a fresh data directory, in front of a fresh simulated vLLM. */
export async function startHarness(
  settings: { sim?: Partial<SimConfig>; gateway?: Partial<GatewayOptions>; upstream?: string; embedder?: Embedder } = {},
): Promise<Harness> {
  const sim = new SimVllm(settings.sim);
  const simUrl = await sim.start();
  const dataDir = await mkdtemp(join(tmpdir(), 'deja-it-'));
  const logger = new CapturingLogger();
  const gateway = await startGateway(
    {
      ...DEFAULT_OPTIONS,
      port: 0,
      dataDir,
      upstream: settings.upstream ?? simUrl,
      upstreamTimeoutMs: 5_000,
      logLevel: 'error',
      // Tests that want the semantic level turn it on with an injected or local model.
      semantic: false,
      // A hit rechecked upstream at random (2% by default) would make counts of upstream calls flaky.
      revalidateShare: 0,
      ...settings.gateway,
    },
    { logger, embedder: settings.embedder },
  );
  const client = new OpenAI({ baseURL: gateway.baseUrl, apiKey: 'sk-test-alice', maxRetries: 0, timeout: 15_000 });
  const harness: Harness = {
    sim,
    gateway,
    client,
    dataDir,
    logger,
    // Reads harness.gateway at call time: a test may restart the gateway.
    post: (path, body, headers = {}) =>
      fetch(`${harness.gateway.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async close() {
      await harness.gateway.close();
      await sim.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Reads an SSE body into its data payloads (without `[DONE]`) and says whether `[DONE]` came. */
export async function readSse(response: Response): Promise<{ events: string[]; done: boolean }> {
  const text = await response.text();
  const events = text
    .split('\n\n')
    .map((block) =>
      block
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n'),
    )
    .filter((data) => data !== '');
  const done = events.at(-1) === '[DONE]';
  return { events: events.filter((data) => data !== '[DONE]'), done };
}

// Re-exported under the name the integration tests import.
export { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` until it holds, at most `tries` times, `everyMs` apart; the caller then asserts what it waited for. */
export async function waitFor(check: () => boolean | Promise<boolean>, tries = 100, everyMs = 30): Promise<void> {
  for (let i = 0; i < tries && !(await check()); i++) await delay(everyMs);
}

export function chatBody(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: MODEL, messages: [{ role: 'user', content }], ...extra };
}

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import {
  ADMIN_BASE,
  ADMIN_TOKEN_FILE,
  type EntryDetailDto,
  type EntryFilterDto,
  type EntryPageDto,
  type EntryQueryDto,
  type EvictResultDto,
  type HealthDto as GatewayHealthDto,
  type LiveEventDto,
  type SkippedPageDto,
  type StatsDto,
  type StatsWindowDto,
} from '../shared/protocol';

/**
 * What the host reads of `/health` (the protocol's `HealthDto`). Whatever holds the port answers
 * it, so `name` is any string here: `name: "deja"` is how a running Deja is recognized.
 */
export type HealthDto = Pick<GatewayHealthDto, 'version' | 'pid' | 'dataDir' | 'upstream' | 'caching'> & { name: string };

export class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The extension host's client for a gateway's admin API. It reads the admin
 * token from the gateway's data directory (owner-only, as the same user), and
 * re-reads it once when the gateway answers 401 (a new gateway wrote a new one).
 */
export class AdminClient {
  private token: string | undefined;

  constructor(
    readonly url: string,
    private readonly dataDir: string,
  ) {}

  private async loadToken(force = false): Promise<string> {
    if (!this.token || force) this.token = (await readFile(join(this.dataDir, ADMIN_TOKEN_FILE), 'utf8')).trim();
    return this.token;
  }

  private async call<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
    const token = await this.loadToken(retried);
    const response = await fetch(`${this.url}${ADMIN_BASE}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401 && !retried) return this.call(method, path, body, true);
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { error: { message: string } }).error.message;
      } catch {
        // not the OpenAI error shape: keep the text
      }
      throw new AdminError(response.status, message);
    }
    return JSON.parse(text) as T;
  }

  stats(window: StatsWindowDto): Promise<StatsDto> {
    return this.call('GET', `/stats?window=${window}`);
  }

  entries(query: EntryQueryDto): Promise<EntryPageDto> {
    const params = new URLSearchParams({ sort: query.sort, order: query.order, offset: String(query.offset), limit: String(query.limit) });
    if (query.search) params.set('search', query.search);
    if (query.model) params.set('model', query.model);
    if (query.endpoint) params.set('endpoint', query.endpoint);
    return this.call('GET', `/entries?${params}`);
  }

  entry(id: string): Promise<EntryDetailDto> {
    return this.call('GET', `/entries/${encodeURIComponent(id)}`);
  }

  evict(ids: string[]): Promise<EvictResultDto> {
    return this.call('POST', '/entries/evict', { ids });
  }

  evictMatching(filter: EntryFilterDto): Promise<EvictResultDto> {
    return this.call('POST', '/entries/evict', { filter });
  }

  clear(): Promise<EvictResultDto> {
    return this.call('DELETE', '/entries');
  }

  skipped(reason: string | null, offset: number, limit: number): Promise<SkippedPageDto> {
    const params = new URLSearchParams({ offset: String(offset), limit: String(limit) });
    if (reason) params.set('reason', reason);
    return this.call('GET', `/skipped?${params}`);
  }

  setCaching(enabled: boolean): Promise<{ enabled: boolean }> {
    return this.call('POST', '/caching', { enabled });
  }

  /** Follows the live event stream; returns a function that stops it. Reconnects are the caller's job. */
  async subscribe(onEvent: (event: LiveEventDto) => void, onClose: () => void): Promise<() => void> {
    const token = await this.loadToken();
    const url = new URL(`${this.url}${ADMIN_BASE}/events`);
    const request = http.get(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      },
      (response) => {
        if (response.statusCode !== 200) {
          // A new gateway wrote a new token: read it again on the next attempt.
          if (response.statusCode === 401) this.token = undefined;
          response.resume();
          onClose();
          return;
        }
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => line.slice(6))
              .join('\n');
            if (data) {
              try {
                onEvent(JSON.parse(data) as LiveEventDto);
              } catch {
                // a malformed event is skipped, the stream goes on
              }
            }
          }
        });
        response.on('end', onClose);
        response.on('error', onClose);
      },
    );
    request.on('error', onClose);
    return () => request.destroy();
  }
}

/** What answers on a port: a Deja gateway (with its health), something else, or nothing. */
export type PortProbe = { kind: 'deja'; health: HealthDto } | { kind: 'other'; detail: string } | { kind: 'free' };

/** Looks at a port on loopback to decide whether to attach, start, or report a conflict. */
export function probePort(port: number, timeoutMs = 1500): Promise<PortProbe> {
  return new Promise((resolve) => {
    const request = http.get({ hostname: '127.0.0.1', port, path: '/health', timeout: timeoutMs }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk.slice(0, 4096)));
      response.on('end', () => {
        try {
          const health = JSON.parse(text) as HealthDto;
          if (health.name === 'deja') {
            resolve({ kind: 'deja', health });
            return;
          }
        } catch {
          // not JSON: not Deja
        }
        resolve({ kind: 'other', detail: `it answered ${response.statusCode} to GET /health` });
      });
    });
    request.on('timeout', () => {
      request.destroy();
      resolve({ kind: 'other', detail: 'it accepted the connection but did not answer' });
    });
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? { kind: 'free' } : { kind: 'other', detail: error.message }),
    );
  });
}

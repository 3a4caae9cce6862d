import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Logger } from '../../../src/core/logger';

/** Lets every pending promise callback and I/O-free continuation run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A manual clock with the shape the host modules accept as `timers`: nothing
 * fires until `advance` moves time past it, in due order.
 */
export class FakeClock {
  time = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  readonly setTimeout = ((fn: () => void, ms = 0) => {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }) as unknown as typeof setTimeout;

  readonly clearTimeout = ((id: unknown) => {
    this.pending.delete(id as number);
  }) as unknown as typeof clearTimeout;

  readonly now = (): number => this.time;

  /** The delays, from now, of the timers still pending. */
  delays(): number[] {
    return [...this.pending.values()].map((timer) => timer.at - this.time).sort((a, b) => a - b);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Moves time forward by `ms`, firing each due timer and letting its async work settle. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await settle();
      let nextId: number | undefined;
      let next: { at: number; fn: () => void } | undefined;
      for (const [id, timer] of this.pending) {
        if (timer.at <= target && (!next || timer.at < next.at)) {
          next = timer;
          nextId = id;
        }
      }
      if (!next || nextId === undefined) break;
      this.pending.delete(nextId);
      this.time = next.at;
      next.fn();
    }
    this.time = target;
    await settle();
  }
}

/** A stand-in for a spawned `deja serve`: stdio streams, a pid, kill() and the exit event. */
export class FakeChild extends EventEmitter {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly kills: string[] = [];
  /** Whether a signal ends it; by default every signal does (after a tick, as a real process). */
  exitsOn: (signal: string) => boolean = () => true;

  constructor(readonly pid: number) {
    super();
  }

  get exited(): boolean {
    return this.exitCode !== null || this.signalCode !== null;
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    this.kills.push(String(signal));
    if (this.exited) return false;
    if (this.exitsOn(String(signal))) setImmediate(() => this.exit(null, String(signal) as NodeJS.Signals));
    return true;
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exited) return;
    this.exitCode = code;
    this.signalCode = signal;
    this.emit('exit', code, signal);
  }
}

export interface LoggedLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
}

export function recordingLogger(): Logger & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  return {
    lines,
    error: (message) => void lines.push({ level: 'error', message }),
    warn: (message) => void lines.push({ level: 'warn', message }),
    info: (message) => void lines.push({ level: 'info', message }),
    debug: (message) => void lines.push({ level: 'debug', message }),
  };
}

export interface TestServer {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** A real HTTP server on loopback, on a port the system picks. */
export async function listen(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads a request body as text. */
export function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });
}

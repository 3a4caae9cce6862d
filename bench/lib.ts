/** Shared pieces of the benchmarks: child-process servers, a keep-alive HTTP client, percentiles. */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { resolve } from 'node:path';
import { percentile as corePercentile } from '../src/core/metrics';

export const ROOT = resolve(__dirname, '..');

export interface ChildServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a server in its own process and resolves with the first URL matching `pattern` in its output. */
export function startChild(command: string, args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolvePromise({
          url: match[1]!,
          child,
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) => {
      const message = `${command} ${args.slice(0, 3).join(' ')} exited with ${code ?? signal}:\n${output.slice(-2000)}`;
      // Before it is up, a failed start rejects; after, a crash is reported rather than waited on forever.
      reject(new Error(message));
      if (signal !== 'SIGTERM') process.stderr.write(`${message}\n`);
    });
  });
}

/** The simulated vLLM in its own process. */
export function startSim(ttftMs = 0, tokenLatencyMs = 0): Promise<ChildServer> {
  return startChild(
    process.execPath,
    [
      resolve(ROOT, 'node_modules/tsx/dist/cli.mjs'),
      'test/fixtures/simVllmCli.ts',
      '--port',
      '0',
      '--ttft-ms',
      String(ttftMs),
      '--token-latency-ms',
      String(tokenLatencyMs),
    ],
    /at (http:\/\/\S+\/v1)/,
  );
}

/**
 * `deja serve` from dist/ in its own process, exact level only: the semantic level adds
 * an embedding per miss, measured on its own (and would try to fetch its default model).
 */
export function startDeja(upstream: string, dataDir: string, extra: string[] = []): Promise<ChildServer> {
  return startServe(upstream, dataDir, ['--semantic', 'off', ...extra]);
}

/** `deja serve` from dist/ in its own process on a free port, quiet but for warnings, with `options` added. */
export function startServe(upstream: string, dataDir: string, options: string[]): Promise<ChildServer> {
  return startChild(
    process.execPath,
    [resolve(ROOT, 'dist/cli.js'), 'serve', '--port', '0', '--upstream', upstream, '--data', dataDir, '--log-level', 'warn', ...options],
    /OpenAI base URL\s+(\S+)/,
  );
}

/** A bare Node http server answering a fixed body: the loopback floor. */
export function startFloor(body: string): Promise<ChildServer> {
  const script = `
    const http = require('node:http');
    const body = ${JSON.stringify(body)};
    http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); });
    }).listen(0, '127.0.0.1', function () { console.log('floor at http://127.0.0.1:' + this.address().port + '/v1'); });`;
  return startChild(process.execPath, ['-e', script], /at (http:\/\/\S+\/v1)/);
}

/** A bare Node proxy: parse the JSON, forward it over keep-alive, parse the answer, send it back. */
export function startBareProxy(upstream: string): Promise<ChildServer> {
  const target = new URL(upstream);
  const script = `
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true });
    http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        JSON.parse(body);
        const path = ${JSON.stringify(target.pathname)} + req.url.replace(/^\\/v1/, '');
        const up = http.request({ hostname: ${JSON.stringify(target.hostname)}, port: ${target.port}, path, method: 'POST', agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length } }, (r) => {
          const out = [];
          r.on('data', (c) => out.push(c));
          r.on('end', () => { const b = Buffer.concat(out); JSON.parse(b); res.writeHead(r.statusCode, { 'content-type': 'application/json', 'content-length': b.length }); res.end(b); });
        });
        up.end(body);
      });
    }).listen(0, '127.0.0.1', function () { console.log('proxy at http://127.0.0.1:' + this.address().port + '/v1'); });`;
  return startChild(process.execPath, ['-e', script], /at (http:\/\/\S+\/v1)/);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

export interface Timing {
  status: number;
  /** Until the whole body arrived, ms. */
  totalMs: number;
  /** Until the first chunk whose text matches `firstMatch`, ms (or the first byte). */
  firstMs: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One POST over a kept-alive connection, timed with hrtime. */
export function timedPost(url: string, body: string, firstMatch?: RegExp, headers: Record<string, string> = {}): Promise<Timing> {
  return new Promise((resolvePromise, reject) => {
    const target = new URL(url);
    const start = process.hrtime.bigint();
    let firstMs = -1;
    const req = http.request(
      {
        hostname: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if (firstMs < 0 && (!firstMatch || firstMatch.test(chunk.toString()))) firstMs = Number(process.hrtime.bigint() - start) / 1e6;
          chunks.push(chunk);
        });
        res.on('end', () => {
          const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
          resolvePromise({
            status: res.statusCode ?? 0,
            totalMs,
            firstMs: firstMs < 0 ? totalMs : firstMs,
            body: Buffer.concat(chunks).toString(),
            headers: res.headers,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The nearest-rank percentile, as the gateway's own metrics compute it. */
export function percentile(values: number[], p: number): number {
  return corePercentile(values, p) ?? NaN;
}

export const fmt = (ms: number) => `${ms.toFixed(3)} ms`;

/** A difference with its sign: `+0.335 ms`, `-0.287 ms` (a reference slower than Deja in that run). */
export const signed = (ms: number, digits = 3) => `${ms < 0 ? '-' : '+'}${Math.abs(ms).toFixed(digits)} ms`;

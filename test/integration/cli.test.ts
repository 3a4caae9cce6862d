import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { SimVllm } from '../fixtures/simVllm';
import { MODEL } from './harness';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/cli.js');

/** The semantic level would fetch its default model from the hub on first use: tests never download. */
const NO_DOWNLOAD = { DEJA_SEMANTIC: 'off' };

function runCli(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...NO_DOWNLOAD, ...env },
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const failure = error as { status: number; stdout: string; stderr: string };
    return { code: failure.status, stdout: failure.stdout, stderr: failure.stderr };
  }
}

/** Starts `deja serve` and resolves with the base URL it prints. */
function serve(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; baseUrl: string; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    env: { ...process.env, ...NO_DOWNLOAD, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /OpenAI base URL\s+(\S+)/.exec(output);
      if (match) resolvePromise({ child, baseUrl: match[1]!, output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`deja serve exited with ${code}: ${output}`)));
  });
}

async function waitForOutput(output: () => string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 100 && !pattern.test(output()); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(output(), pattern);
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolvePromise) => child.once('exit', (code) => resolvePromise(code)));
}

describe('the deja CLI', function () {
  this.timeout(30_000);
  let sim: SimVllm;
  let upstream: string;
  let dataDir: string;

  before(async () => {
    execFileSync(process.execPath, [join(ROOT, 'esbuild.mjs')], { cwd: ROOT });
    sim = new SimVllm();
    upstream = await sim.start();
  });
  after(async () => {
    await sim.stop();
  });
  beforeEach(async () => {
    dataDir = join(await mkdtemp(join(tmpdir(), 'deja-cli-')), 'data');
  });
  afterEach(async () => {
    await rm(resolve(dataDir, '..'), { recursive: true, force: true });
  });

  it('prints its help with every option and its environment variable', () => {
    const { code, stdout } = runCli(['--help']);
    assert.equal(code, 0);
    for (const flag of ['--port', '--host', '--upstream', '--data', '--ttl', '--log-level', 'DEJA_PORT', 'DEJA_UPSTREAM', 'deja serve']) {
      assert.ok(stdout.includes(flag), `help mentions ${flag}`);
    }
    assert.equal(runCli(['serve', '--help']).code, 0);
    assert.match(runCli(['--version']).stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('refuses unknown commands, unknown flags and bad values with exit code 2', () => {
    assert.equal(runCli(['launch']).code, 2);
    const unknownFlag = runCli(['serve', '--colour', 'blue']);
    assert.equal(unknownFlag.code, 2);
    assert.match(unknownFlag.stderr, /colour/);
    const badPort = runCli(['serve', '--port', 'eighty']);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--port: port must be a whole number/);
    const badEnv = runCli(['serve'], { DEJA_TTL: '-5' });
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /DEJA_TTL/);
  });

  it('serves, caches through the printed base URL, creates the data directory owner-only, and stops on SIGTERM', async () => {
    const { child, baseUrl, output } = await serve(['--port', '0', '--upstream', upstream, '--data', dataDir, '--ttl', '120']);
    assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const client = new OpenAI({ baseURL: baseUrl, apiKey: 'k', maxRetries: 0 });
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'cli question' }] };
    assert.equal((await client.chat.completions.create(params).withResponse()).response.headers.get('x-deja-cache'), 'MISS');
    assert.equal((await client.chat.completions.create(params).withResponse()).response.headers.get('x-deja-cache'), 'HIT');
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dataDir, 'cache.sqlite'))).mode & 0o777, 0o600);
    assert.match(output(), new RegExp(`data\\s+${dataDir}`));
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0);
  });

  it('takes its settings from DEJA_* variables', async () => {
    const { child, baseUrl, output } = await serve([], { DEJA_PORT: '0', DEJA_UPSTREAM: upstream, DEJA_DATA: dataDir });
    const health = (await (await fetch(baseUrl.replace(/\/v1$/, '/health'))).json()) as { upstream: string; dataDir: string };
    assert.equal(health.upstream, upstream);
    assert.equal(health.dataDir, dataDir);
    await waitForOutput(output, /upstream reachable/);
    child.kill('SIGINT');
    assert.equal(await exitCode(child), 0);
  });

  it('says clearly when the port or the data directory is taken, and warns when bound beyond loopback', async () => {
    const first = await serve(['--port', '0', '--upstream', upstream, '--data', dataDir]);
    const port = new URL(first.baseUrl).port;
    const second = runCli(['serve', '--port', port, '--upstream', upstream, '--data', `${dataDir}-other`]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
    const sameData = runCli(['serve', '--port', '0', '--upstream', upstream, '--data', dataDir]);
    assert.equal(sameData.code, 1);
    assert.match(
      sameData.stderr,
      new RegExp(`another Deja \\(pid ${first.child.pid}, ${first.baseUrl.replace('/v1', '')}\\) is using the data directory`),
    );
    first.child.kill('SIGTERM');
    await exitCode(first.child);

    const open = await serve(['--port', '0', '--host', '0.0.0.0', '--upstream', upstream, '--data', dataDir]);
    assert.match(open.output(), /WARNING: Deja is bound to 0\.0\.0\.0, not loopback/);
    open.child.kill('SIGTERM');
    await exitCode(open.child);
  });

  it('warns, and keeps running, when the upstream is not reachable yet', async () => {
    const { child, output } = await serve(['--port', '0', '--upstream', 'http://127.0.0.1:9/v1', '--data', dataDir]);
    await waitForOutput(output, /the upstream is not reachable yet/);
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0);
  });
});

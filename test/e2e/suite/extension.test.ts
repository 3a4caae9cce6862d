// Extension-host tests: they run inside a real VS Code (code-server's extension host),
// against the packaged extension, a real gateway child process and a simulated vLLM.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import * as vscode from 'vscode';
import type { DejaApi } from '../../../src/extension';

const EXTENSION_ID = 'deja-dev.deja';
const port = Number(process.env.DEJA_E2E_PORT);
const base = `http://127.0.0.1:${port}`;

async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

async function health(): Promise<{ pid: number; dataDir: string; caching: boolean } | undefined> {
  try {
    const response = await fetch(`${base}/health`);
    return response.ok ? ((await response.json()) as { pid: number; dataDir: string; caching: boolean }) : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Deja in VS Code', function () {
  let api: DejaApi;
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'e2e', maxRetries: 0 });
  const ask = async (content: string) => {
    const { data, response } = await client.chat.completions
      .create({ model: 'sim-llama-3-8b', messages: [{ role: 'user', content }], temperature: 0 })
      .withResponse();
    return { answer: data.choices[0]?.message.content, cache: response.headers.get('x-deja-cache') };
  };

  before(async function () {
    assert.ok(port > 0, 'DEJA_E2E_PORT must name the port the settings point at');
    const extension = await until('the extension', () => vscode.extensions.getExtension<DejaApi>(EXTENSION_ID));
    api = await until('activation', () => (extension.isActive ? extension.exports : undefined));
  });

  it('activates on startup without blocking: activate() is quick and every command is registered', async function () {
    console.log(`      activate() took ${api.activationMs.toFixed(1)} ms`);
    const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { commands: Array<{ command: string }> } };
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = manifest.contributes.commands.map((c) => c.command).filter((id) => !registered.has(id));
    assert.deepEqual(missing, []);
  });

  it('starts a gateway of its own on the configured port', async function () {
    await until('a running gateway', () => api.controller.current.state === 'running');
    assert.equal(api.controller.current.owned, true);
    assert.equal(api.controller.current.url, base);
    const report = await health();
    assert.equal(report?.pid, api.controller.health?.pid);
  });

  it('serves the OpenAI SDK: a miss, then the same answer from the cache', async function () {
    const question = `What does a write-ahead log protect against? (${Date.now()})`;
    const first = await ask(question);
    const second = await ask(question);
    assert.equal(first.cache, 'MISS');
    assert.equal(second.cache, 'HIT');
    assert.equal(second.answer, first.answer);
  });

  it('copies the endpoint URL for other tools', async function () {
    await vscode.commands.executeCommand('deja.copyEndpointUrl');
    assert.equal(await vscode.env.clipboard.readText(), `${base}/v1`);
  });

  it('toggles caching off and on from the command palette', async function () {
    await vscode.commands.executeCommand('deja.toggleCaching');
    assert.equal((await health())?.caching, false);
    const question = `Is caching off now? (${Date.now()})`;
    assert.equal((await ask(question)).cache, 'BYPASS');
    await vscode.commands.executeCommand('deja.toggleCaching');
    assert.equal((await health())?.caching, true);
    assert.equal((await ask(question)).cache, 'MISS');
  });

  it('opens one dashboard, revealed rather than duplicated', async function () {
    await vscode.commands.executeCommand('deja.openDashboard');
    await vscode.commands.executeCommand('deja.openDashboard');
    const dashboards = () =>
      vscode.window.tabGroups.all
        .flatMap((group) => group.tabs)
        .filter((tab) => tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith('deja.dashboard'));
    // Tabs reach the extension host a moment after the panel is created.
    await until('the dashboard tab', () => dashboards().length > 0, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(dashboards().length, 1);
    assert.equal(dashboards()[0]!.label, 'Deja');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('restarts its gateway after a crash, keeping what was cached', async function () {
    const question = `Does the cache survive a crash? (${Date.now()})`;
    assert.equal((await ask(question)).cache, 'MISS');
    // Stored once it is listed: only then may the process die without losing it.
    await until(
      'the entry to be stored',
      async () =>
        (await api.connection.admin!.entries({ search: question, sort: 'created', order: 'desc', offset: 0, limit: 5 })).items.length > 0,
    );
    const before = api.controller.health!.pid;
    process.kill(before, 'SIGKILL');
    await until(
      'a restarted gateway',
      async () => api.controller.current.state === 'running' && (await health())?.pid !== before && (await health()),
    );
    assert.notEqual(api.controller.health?.pid, before);
    assert.equal((await ask(question)).cache, 'HIT');
  });

  it('restarts its gateway when a setting changes', async function () {
    const configuration = vscode.workspace.getConfiguration('deja');
    const restartedWith = async (value: number | undefined) => {
      const before = api.controller.health!.pid;
      await configuration.update('ttlSeconds', value, vscode.ConfigurationTarget.Global);
      await until('a gateway with the new setting', async () => {
        const report = await health();
        return api.controller.current.state === 'running' && report && report.pid !== before && report.pid === api.controller.health?.pid;
      });
    };
    await restartedWith(7200);
    await restartedWith(undefined);
  });

  it('stops its gateway: the process ends and the port is free', async function () {
    await until('a running gateway', () => api.controller.current.state === 'running');
    const pid = api.controller.health!.pid;
    await vscode.commands.executeCommand('deja.stopGateway');
    assert.equal(api.controller.current.state, 'off');
    await until('the process to end', () => !alive(pid), 10_000);
    assert.equal(await health(), undefined);
  });

  describe('with a gateway started elsewhere', function () {
    let other: ChildProcess | undefined;
    let dataDir: string;

    before(async function () {
      dataDir = mkdtempSync(join(tmpdir(), 'deja-e2e-other-'));
      const extensionPath = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
      // The CLI, as a user of another editor would run it.
      other = spawn(
        process.execPath,
        [
          join(extensionPath, 'dist', 'cli.js'),
          'serve',
          '--port',
          String(port),
          '--data',
          dataDir,
          '--upstream',
          process.env.DEJA_E2E_UPSTREAM!,
          '--semantic',
          'off',
        ],
        {
          env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
          stdio: 'ignore',
        },
      );
      await until('the other gateway', async () => (await health())?.pid === other!.pid);
    });

    after(function () {
      other?.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('attaches to it instead of starting a second one', async function () {
      await vscode.commands.executeCommand('deja.startGateway');
      assert.equal(api.controller.current.state, 'attached');
      assert.equal(api.controller.current.owned, false);
      assert.equal(api.controller.dataDir, dataDir);
      const question = `Served by the other gateway? (${Date.now()})`;
      assert.equal((await ask(question)).cache, 'MISS');
      assert.equal((await ask(question)).cache, 'HIT');
    });

    it('leaves it running on stop', async function () {
      await vscode.commands.executeCommand('deja.stopGateway');
      assert.equal(api.controller.current.state, 'off');
      assert.equal((await health())?.pid, other!.pid);
    });

    it('takes over when it goes away', async function () {
      await vscode.commands.executeCommand('deja.startGateway');
      assert.equal(api.controller.current.state, 'attached');
      other!.kill('SIGTERM');
      await until('this window to start its own gateway', () => api.controller.current.state === 'running', 30_000);
      assert.equal(api.controller.current.owned, true);
      assert.notEqual((await health())?.pid, other!.pid);
    });
  });

  describe('with the port held by another program', function () {
    let squatter: Server;

    before(async function () {
      await vscode.commands.executeCommand('deja.stopGateway');
      squatter = createServer((_req, res) => res.end('not deja'));
      await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    });

    after(async function () {
      await new Promise((resolve) => squatter.close(resolve));
    });

    it('says so instead of failing silently', async function () {
      // The offer of another port is a notification this test leaves unanswered.
      void vscode.commands.executeCommand('deja.startGateway');
      await until('the error state', () => api.controller.current.state === 'error');
      assert.match(api.controller.current.message ?? '', new RegExp(`Port ${port} is used by another program`));
    });
  });
});

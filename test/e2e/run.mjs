// The end-to-end tier of `npm test`: the packaged extension in a real VS Code (code-server)
// driven by headless Chromium, with a real gateway and a simulated vLLM on loopback.
//   0. the dashboard in Chromium against a fake host (webview-ui/preview/smoke.mjs)
//   1. extension-host tests (mocha inside the extension host, against the packaged files)
//   2. UI test of the installed .vsix (palette, status bar, dashboard, screenshots)
// Setup (apt + npm, cached in .e2e/) runs first. Prints "N passed, N failed" last.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startCodeServer } from './codeServer.mjs';
import { runExtensionHostTests } from './extensionHostTests.mjs';
import { prepareE2E } from './prepare.mjs';
import { runUiTest } from './uiTest.mjs';

const root = resolve(import.meta.dirname, '../..');
const e2eHome = process.env.DEJA_E2E_HOME ?? join(root, '.e2e');
const shots = join(e2eHome, 'screenshots');
const began = Date.now();
const lap = (what) => console.log(`[e2e ${((Date.now() - began) / 1000).toFixed(1)} s] ${what}`);
const totals = { passed: 0, failed: 0 };
const add = (result) => {
  totals.passed += result.passed;
  totals.failed += result.failed;
};

let prepared;
try {
  execFileSync('bash', [join(root, 'test/e2e/setup.sh')], { stdio: 'inherit' });
  lap('setup');
  prepared = await prepareE2E(root);
  lap(`packaged ${prepared.vsix}; simulated vLLM at ${prepared.upstream}`);

  // 0. The dashboard alone, against a fake host, under the strict CSP: every action and what it sends.
  {
    const smoke = spawnSync(process.execPath, [join(root, 'webview-ui/preview/smoke.mjs')], { cwd: root, encoding: 'utf8' });
    process.stdout.write(
      smoke.stdout
        .split('\n')
        .filter((line) => /^FAIL|passed, \d+ failed/.test(line))
        .join('\n') + '\n',
    );
    process.stderr.write(smoke.stderr);
    const total = smoke.stdout.match(/^(\d+) passed, (\d+) failed$/m);
    add(
      total
        ? { passed: Number(total[1]), failed: Number(total[2]) + (smoke.status === 0 ? 0 : Number(total[2]) ? 0 : 1) }
        : { passed: 0, failed: 1 },
    );
    lap('dashboard against a fake host');
  }

  // 1. Extension-host tests, from the staged package: exactly the files the VSIX holds.
  {
    const { port, settings } = await prepared.settingsFor('host', false);
    const server = await startCodeServer({
      dir: join(e2eHome, 'run-host'),
      settings,
      env: { DEJA_E2E_PORT: String(port), DEJA_E2E_UPSTREAM: prepared.upstream },
    });
    try {
      add(
        await runExtensionHostTests({
          server,
          developmentPath: prepared.packaged,
          testsPath: prepared.testsPath,
          logFile: join(e2eHome, 'run-host/workbench.log'),
        }),
      );
    } finally {
      await server.stop();
    }
    lap('extension-host tests');
  }

  // 2. The installed .vsix, through the UI.
  {
    const { port, settings } = await prepared.settingsFor('ui', true);
    const server = await startCodeServer({ dir: join(e2eHome, 'run-ui'), settings, vsix: prepared.vsix });
    try {
      mkdirSync(shots, { recursive: true });
      add(await runUiTest({ server, gatewayPort: port, dataDir: settings['deja.dataDirectory'], shots }));
    } finally {
      await server.stop();
    }
    lap(`UI test (screenshots in ${shots})`);
  }
} catch (error) {
  console.error(`e2e: ${error.stack ?? error.message}`);
  totals.failed++;
} finally {
  prepared?.cleanup();
}
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed === 0 ? 0 : 1);

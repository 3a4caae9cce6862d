// Runs the mocha suite in out/e2e/suite inside code-server's extension host, the way
// @vscode/test-electron does on a desktop: extensionDevelopmentPath + extensionTestsPath,
// delivered through the smoke-test driver's payload. Resolves with the suite's counts.
import { writeFileSync } from 'node:fs';
import { format } from 'node:util';
import { launchBrowser } from './codeServer.mjs';

export async function runExtensionHostTests({ server, developmentPath, testsPath, logFile, timeoutMs = 300_000 }) {
  const remote = (path) => `vscode-remote://${server.host}${path}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(developmentPath)],
    ['extensionTestsPath', remote(testsPath)],
    ['skipWelcome', 'true'],
  ]);
  const browser = await launchBrowser();
  const context = await browser.newContext();
  // deja.copyEndpointUrl writes the clipboard, which the browser holds.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://${server.host}` });
  const page = await context.newPage();
  let counts;
  let suiteStarted = false;
  const everything = [];
  const exited = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
  // The workbench logs plenty (offline marketplace lookups...): show mocha's report, keep the rest for a failure.
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const line = format(...args);
    everything.push(`[${type}] ${line}`);
    suiteStarted ||= /^\s*Deja in VS Code/m.test(line);
    const total = line.match(/^(\d+) passed, (\d+) failed$/m);
    if (total) counts = { passed: Number(total[1]), failed: Number(total[2]) };
    if (suiteStarted) process.stdout.write(`${line}\n`);
  });
  await page.goto(`http://${server.host}/?folder=${encodeURIComponent(server.workspace)}&payload=${encodeURIComponent(payload)}`);
  const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), timeoutMs))]);
  await browser.close();
  if (code === 'timeout') console.log(`extension-host tests: no result within ${timeoutMs / 1000} s`);
  if (code !== 0) {
    writeFileSync(logFile, everything.join('\n'));
    console.log(`extension-host tests: exit ${code}; the whole workbench log is in ${logFile}`);
  }
  // A suite that never reported counts as one failure, so a broken run is never green.
  return counts ?? { passed: 0, failed: 1 };
}

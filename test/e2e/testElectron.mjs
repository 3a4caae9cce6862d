// `npm run test:electron`: the same extension-host suite in a desktop VS Code downloaded by
// @vscode/test-electron. Needs internet (update.code.visualstudio.com) and a display (or
// xvfb-run); on this project's offline machines the code-server tier of `npm test` runs it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runTests } from '@vscode/test-electron';
import { prepareE2E } from './prepare.mjs';

const root = resolve(import.meta.dirname, '../..');
const prepared = await prepareE2E(root);
let code = 1;
try {
  const { port, settings } = await prepared.settingsFor('electron', false);
  const userData = join(prepared.scratch, 'electron-user-data');
  mkdirSync(join(userData, 'User'), { recursive: true });
  writeFileSync(join(userData, 'User/settings.json'), JSON.stringify(settings, null, 2));
  const workspace = join(prepared.scratch, 'workspace');
  mkdirSync(workspace, { recursive: true });
  code = await runTests({
    extensionDevelopmentPath: prepared.packaged,
    extensionTestsPath: prepared.testsPath,
    extensionTestsEnv: { DEJA_E2E_PORT: String(port), DEJA_E2E_UPSTREAM: prepared.upstream },
    launchArgs: [workspace, '--user-data-dir', userData, '--disable-extensions', '--disable-workspace-trust'],
  }).then(
    () => 0,
    (error) => {
      console.error(error);
      return 1;
    },
  );
} finally {
  prepared.cleanup();
}
process.exit(code);

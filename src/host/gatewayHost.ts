import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from '../core/logger';
import { probePort } from './adminClient';
import { API_KEY_SECRET } from './commands';
import { freePort } from './freePort';
import { GatewayController } from './gatewayController';
import { policyOverrides, readSettings, serveArguments, type DejaSettings, type SettingsSource } from './settings';

/** The `deja.` settings as they are now. */
export function currentSettings(): DejaSettings {
  const configuration = vscode.workspace.getConfiguration('deja');
  return readSettings((key) => configuration.get(key));
}

/** VS Code's configuration as a source for watchSettings. */
export const vscodeSettings: SettingsSource = {
  read: currentSettings,
  onDidChange: (listener) =>
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('deja')) listener();
    }),
};

/**
 * The gateway controller wired to VS Code: the settings, the extension's storage
 * and secrets, a child process for `deja serve`, and the prompts it shows.
 */
export function createGatewayController(
  context: vscode.ExtensionContext,
  channel: vscode.LogOutputChannel,
  logger: Logger,
): GatewayController {
  const gateway: GatewayController = new GatewayController({
    settings: currentSettings,
    dataDir: (settings) => settings.dataDirectory || context.globalStorageUri.fsPath,
    writePolicy: async (settings, dataDir) => {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const file = join(dataDir, 'policy.json');
      await writeFile(file, JSON.stringify(policyOverrides(settings), null, 2), { mode: 0o600 });
      return file;
    },
    apiKey: async () => context.secrets.get(API_KEY_SECRET),
    // VS Code's own Node runs the gateway: no other runtime is needed on the machine.
    launch: (args, env) =>
      spawn(process.execPath, [join(context.extensionPath, 'dist', 'cli.js'), ...args], {
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    probe: (port) => probePort(port),
    serveArguments,
    ui: {
      crashed: (message) => {
        void vscode.window.showWarningMessage(message, 'Show Log').then((choice) => choice && channel.show());
      },
      portTaken: async (port, detail) => {
        const alternative = await freePort();
        const choice = await vscode.window.showWarningMessage(
          `Deja cannot use port ${port}: another program holds it (${detail}).`,
          `Use Port ${alternative}`,
          'Show Log',
        );
        if (choice === 'Show Log') channel.show();
        if (choice !== `Use Port ${alternative}`) return undefined;
        await vscode.workspace.getConfiguration('deja').update('port', alternative, vscode.ConfigurationTarget.Global);
        return alternative;
      },
      failed: (message) => {
        void vscode.window.showErrorMessage(message, 'Show Log', 'Retry').then((choice) => {
          if (choice === 'Show Log') channel.show();
          if (choice === 'Retry') void gateway.start();
        });
      },
    },
    logger,
    output: (line) => channel.info(`[gateway] ${line}`),
  });
  return gateway;
}

import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { probePort } from './host/adminClient';
import { API_KEY_SECRET, registerCommands } from './host/commands';
import { freePort } from './host/freePort';
import { GatewayConnection } from './host/gatewayConnection';
import { GatewayController } from './host/gatewayController';
import { createLogChannel } from './host/logger';
import { needsRestart, policyOverrides, readSettings, serveArguments, type DejaSettings } from './host/settings';
import { StatusBar } from './host/statusBar';

/** What tests reach through `extension.exports`. */
export interface DejaApi {
  controller: GatewayController;
  connection: GatewayConnection;
  /** Time activate() itself took, in milliseconds. */
  activationMs: number;
}

let controller: GatewayController | undefined;

function currentSettings(): DejaSettings {
  const configuration = vscode.workspace.getConfiguration('deja');
  return readSettings((key) => configuration.get(key));
}

/**
 * A table of contents: the log, the gateway controller, the connection to it, the
 * status bar, the commands and the settings listener. The gateway itself starts
 * after activation returns, in a child process: nothing heavy runs here.
 */
export function activate(context: vscode.ExtensionContext): DejaApi {
  const began = performance.now();
  const { channel, logger } = createLogChannel();
  context.subscriptions.push(channel);

  const gateway = new GatewayController({
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
  controller = gateway;
  const connection = new GatewayConnection(gateway, logger);

  context.subscriptions.push(
    new StatusBar(gateway, connection),
    ...registerCommands({ context, controller: gateway, connection, log: channel }),
    { dispose: () => connection.dispose() },
  );

  // Live reload: a changed setting restarts a gateway this window owns.
  let settings = currentSettings();
  let pending: NodeJS.Timeout | undefined;
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('deja')) return;
      if (pending) clearTimeout(pending);
      pending = setTimeout(() => {
        const next = currentSettings();
        const restart = needsRestart(settings, next);
        settings = next;
        if (restart && gateway.current.owned) void gateway.restart();
        else if (restart && gateway.current.state === 'error') void gateway.start();
        else if (next.autoStart && gateway.current.state === 'off') void gateway.start();
      }, 300);
    }),
  );

  if (settings.autoStart) setImmediate(() => void gateway.start());
  const activationMs = performance.now() - began;
  logger.info(`activated in ${activationMs.toFixed(1)} ms`);
  return { controller: gateway, connection, activationMs };
}

/** Stops the gateway this window started; one started elsewhere keeps running. */
export async function deactivate(): Promise<void> {
  await controller?.dispose();
  controller = undefined;
}

/**
 * Entry point of the dashboard webview. Builds the app into #app, listens to
 * the host, then says `ready` (the host sends nothing before that).
 */

import type { HostToWebview } from '../../src/shared/protocol';
import { App } from './app';
import './elements';
import { onMessage, post } from './vscodeApi';

function assertNever(message: never): void {
  // Unreachable when host and webview share protocol.ts; a newer host may still send more.
  console.warn('[deja] unhandled message from the host', message);
}

function route(app: App, message: HostToWebview): void {
  switch (message.type) {
    case 'gateway/didChange':
      app.setGateway(message.status);
      break;
    case 'stats/didChange':
      app.setStats(message.window, message.stats);
      break;
    case 'entries/didLoad':
      app.setEntries(message.query, message.page);
      break;
    case 'entry/didLoad':
      app.setEntry(message.entry);
      break;
    case 'skipped/didLoad':
      app.setSkipped(message.reason, message.page);
      break;
    case 'live/request':
      app.liveRequest(message.event);
      break;
    case 'error/show':
      app.showError(message.message);
      break;
    default:
      assertNever(message);
  }
}

function boot(): void {
  const root = document.getElementById('app') ?? document.body.appendChild(document.createElement('div'));
  root.id = 'app';
  const app = new App(root);
  onMessage((message) => {
    try {
      route(app, message);
    } catch (err) {
      console.error('[deja] failed to handle', message.type, err);
      app.showError(`The dashboard could not show ${message.type}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  post({ type: 'ready' });
  app.started();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
else boot();

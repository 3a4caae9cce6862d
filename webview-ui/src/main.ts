/**
 * Entry point of the dashboard webview. Builds the app into #app, listens to
 * the host, then says `ready` (the host sends nothing before that).
 */

import { App } from './app';
import './elements';
import { onMessage, post, type HostHandlers } from './vscodeApi';

function boot(): void {
  const root = document.getElementById('app') ?? document.body.appendChild(document.createElement('div'));
  root.id = 'app';
  const app = new App(root);
  const handlers: HostHandlers = {
    'gateway/didChange': (m) => app.setGateway(m.status),
    'stats/didChange': (m) => app.setStats(m.window, m.stats),
    'entries/didLoad': (m) => app.setEntries(m.query, m.page),
    'entry/didLoad': (m) => app.setEntry(m.entry),
    'skipped/didLoad': (m) => app.setSkipped(m.reason, m.page),
    'live/request': (m) => app.liveRequest(m.event),
    'error/show': (m) => app.showError(m.message),
  };
  onMessage(handlers, (message, err) => {
    console.error('[deja] failed to handle', message.type, err);
    app.showError(`The dashboard could not show ${message.type}: ${err instanceof Error ? err.message : String(err)}`);
  });
  post({ type: 'ready' });
  app.started();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
else boot();

import assert from 'node:assert/strict';
import { createNonce, dashboardHtml, type DashboardResources } from '../../../src/host/webviewHtml';

const RESOURCES: DashboardResources = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  script: 'https://file+.vscode-resource.vscode-cdn.net/ext/webview-ui/dist/main.js',
  styles: 'https://file+.vscode-resource.vscode-cdn.net/ext/webview-ui/dist/styles.css',
  codicons: 'https://file+.vscode-resource.vscode-cdn.net/ext/webview-ui/dist/codicon.css',
};

/** The page's Content-Security-Policy, directive name to its sources. */
function csp(html: string): Map<string, string[]> {
  const metas = [...html.matchAll(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/g)];
  assert.equal(metas.length, 1, 'exactly one CSP meta tag');
  const directives = new Map<string, string[]>();
  for (const directive of metas[0]![1]!.split(';')) {
    const [name, ...sources] = directive.trim().split(/\s+/);
    assert.ok(name, 'no empty directive');
    assert.ok(!directives.has(name), `${name} appears twice`);
    directives.set(name, sources);
  }
  return directives;
}

describe('dashboard webview HTML', () => {
  const nonce = createNonce();
  const html = dashboardHtml(RESOURCES, nonce);

  it("denies everything by default: default-src 'none'", () => {
    assert.deepEqual(csp(html).get('default-src'), ["'none'"]);
  });

  it('lets scripts run only with the nonce: no eval, no inline, no host', () => {
    const directives = csp(html);
    assert.deepEqual(directives.get('script-src'), [`'nonce-${nonce}'`]);
    assert.ok(!html.includes("'unsafe-eval'"));
    assert.ok(!html.includes("'wasm-unsafe-eval'"));
    // Only styles may be inline; nothing else allows inline content or other hosts.
    for (const [name, sources] of directives) {
      if (name !== 'style-src') assert.ok(!sources.includes("'unsafe-inline'"), `${name} allows inline`);
      assert.ok(!sources.some((source) => source === '*' || source === 'https:' || source === 'http:'), `${name} allows any host`);
    }
    assert.equal(directives.get('connect-src'), undefined, 'the webview talks to the host only through messages');
  });

  it('loads styles, fonts and images only from the extension', () => {
    const directives = csp(html);
    assert.deepEqual(directives.get('style-src'), [RESOURCES.cspSource, "'unsafe-inline'"]);
    assert.deepEqual(directives.get('font-src'), [RESOURCES.cspSource]);
    assert.deepEqual(directives.get('img-src'), [RESOURCES.cspSource, 'data:']);
  });

  it('has one script tag, carrying the nonce and the bundled script, with no inline code', () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.equal(scripts[0]![1], ` nonce="${nonce}" src="${RESOURCES.script}"`);
    assert.equal(scripts[0]![2], '');
    assert.ok(!/\son[a-z]+=/i.test(html), 'no inline event handlers');
  });

  it('links the stylesheets and holds the app root', () => {
    assert.ok(html.includes(`<link rel="stylesheet" href="${RESOURCES.codicons}">`));
    assert.ok(html.includes(`<link rel="stylesheet" href="${RESOURCES.styles}">`));
    assert.ok(html.includes('<div id="app"></div>'));
    assert.match(html, /^<!DOCTYPE html>/);
  });

  it('uses the nonce it is given, so each render has its own', () => {
    const other = createNonce();
    const second = dashboardHtml(RESOURCES, other);
    assert.deepEqual(csp(second).get('script-src'), [`'nonce-${other}'`]);
    assert.ok(!second.includes(nonce));
  });

  it('makes a fresh, unguessable nonce each call', () => {
    const nonces = new Set(Array.from({ length: 200 }, () => createNonce()));
    assert.equal(nonces.size, 200);
    for (const value of nonces) {
      // 16 random bytes in base64: valid in a CSP nonce and an HTML attribute.
      assert.match(value, /^[A-Za-z0-9+/]{22}==$/);
      assert.equal(Buffer.from(value, 'base64').length, 16);
    }
  });
});

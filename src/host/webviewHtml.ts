import { randomBytes } from 'node:crypto';

/** The pieces of the dashboard page: resource URIs already converted for the webview. */
export interface DashboardResources {
  cspSource: string;
  script: string;
  styles: string;
  codicons: string;
}

/** A fresh nonce per render: only the bundled script may run. */
export function createNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The dashboard's HTML. The Content-Security-Policy allows nothing by default:
 * scripts only with this render's nonce (no inline handlers, no eval), styles,
 * fonts and images only from the extension's own files. 'unsafe-inline' for
 * styles is needed by the web components' adopted stylesheets and style attributes.
 */
export function dashboardHtml(resources: DashboardResources, nonce: string): string {
  const csp = [
    "default-src 'none'",
    `style-src ${resources.cspSource} 'unsafe-inline'`,
    `font-src ${resources.cspSource}`,
    `img-src ${resources.cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${resources.codicons}">
  <link rel="stylesheet" href="${resources.styles}">
  <title>Deja</title>
</head>
<body>
  <div id="app"></div>
  <script nonce="${nonce}" src="${resources.script}"></script>
</body>
</html>`;
}

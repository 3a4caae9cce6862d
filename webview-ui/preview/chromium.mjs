// Debian's Chromium, headless, as every browser check drives it: the preview's screenshots and
// smoke test, and the e2e tests in code-server (test/e2e/codeServer.mjs). DEJA_E2E_CHROMIUM names
// another binary.
import { chromium } from 'playwright-core';

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.DEJA_E2E_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

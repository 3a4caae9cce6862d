// UI test of the installed .vsix, as a user meets it: the status bar, the command palette,
// the dashboard's numbers against the gateway's own, a skipped prompt with its trigger
// highlighted, and evicting an entry from the dashboard. Each step is one test; a step not
// reached after a failure counts as failed too. Screenshots go to `shots`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { launchBrowser } from './codeServer.mjs';

const EVICT_PROMPT = 'Explain the CAP theorem in one paragraph.';
const CODE_PROMPT = 'Write a Python function that merges two sorted lists.';

export async function runUiTest({ server, gatewayPort, dataDir, shots }) {
  const base = `http://127.0.0.1:${gatewayPort}`;
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'e2e', maxRetries: 0 });
  const ask = async (content) => {
    const { data, response } = await client.chat.completions
      .create({ model: 'sim-llama-3-8b', messages: [{ role: 'user', content }], temperature: 0 })
      .withResponse();
    return {
      answer: data.choices[0]?.message.content,
      cache: response.headers.get('x-deja-cache'),
      reason: response.headers.get('x-deja-reason'),
    };
  };
  const admin = async (path) => {
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const response = await fetch(`${base}/deja/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`admin ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const expect = (condition, message) => {
    if (!condition) throw new Error(message);
  };

  const browser = await launchBrowser();
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  const dashboard = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  const statusItem = page.locator('.statusbar-item', { hasText: 'Deja' }).first();

  /** Runs a command from the palette; retried while the palette is still filling after start-up. */
  const runCommand = async (title) => {
    for (let attempt = 0; ; attempt++) {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible' });
      await input.fill(`>${title}`);
      try {
        await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 2000 });
        break;
      } catch (error) {
        await page.keyboard.press('Escape');
        if (attempt > 20) throw error;
      }
    }
    await page.keyboard.press('Enter');
  };
  const entriesMatching = async (search) =>
    (await admin(`/entries?search=${encodeURIComponent(search)}&sort=created&order=desc&offset=0&limit=5`)).total;

  const steps = [
    [
      'the workbench loads and the status bar shows Deja',
      async () => {
        await page.goto(server.url, { waitUntil: 'domcontentloaded' });
        await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
        await statusItem.waitFor({ timeout: 60_000 });
      },
    ],
    [
      'the extension starts the gateway on its own (autoStart)',
      async () => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const health = await fetch(`${base}/health`).then(
            (r) => r.json(),
            () => undefined,
          );
          if (health?.name === 'deja') break;
          if (Date.now() > deadline) throw new Error(`no gateway on ${base}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      },
    ],
    [
      'the openai SDK gets misses, exact and semantic hits, and skips through it',
      async () => {
        const question = 'How does TCP slow start work?';
        const first = await ask(question);
        const again = await ask(question);
        // The embedding model loads on the first request, and a stored answer is indexed just after:
        // a semantic hit is possible once the index holds it.
        const deadline = Date.now() + 60_000;
        while ((await admin('/stats?window=1h')).cache.vectors < 1) {
          if (Date.now() > deadline)
            throw new Error(
              `the semantic index stayed empty: ${JSON.stringify((await fetch(`${base}/health`).then((r) => r.json())).semantic)}`,
            );
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const similar = await ask('How does TCP slow start work ?');
        expect(first.cache === 'MISS' && again.cache === 'HIT', `expected MISS then HIT, got ${first.cache}, ${again.cache}`);
        expect(again.answer === first.answer, 'the hit changed the answer');
        expect(similar.cache === 'SEMANTIC_HIT', `a near-identical question was ${similar.cache}`);
        const code = await ask(CODE_PROMPT);
        expect(code.cache === 'SKIP', `a code-generation prompt was ${code.cache}`);
        const evictable = await ask(EVICT_PROMPT);
        expect(evictable.cache === 'MISS', `the prompt to evict was ${evictable.cache}`);
      },
    ],
    [
      'the status bar shows the hit rate',
      async () => {
        // The extension polls the stats every 5 s.
        await page
          .locator('.statusbar-item', { hasText: /Deja \d+%/ })
          .first()
          .waitFor({ timeout: 20_000 });
        await page.screenshot({ path: `${shots}/workbench.png` });
      },
    ],
    [
      '"Deja: Open Dashboard" runs from the command palette',
      async () => {
        await runCommand('Deja: Open Dashboard');
        await dashboard.locator('vscode-tabs').waitFor({ timeout: 30_000 });
      },
    ],
    [
      "the overview shows the gateway's own figures",
      async () => {
        const stats = await admin('/stats?window=24h');
        const requests = dashboard.locator('.kpi[aria-label="Requests"] .kpi-value');
        await requests.filter({ hasText: new RegExp(`^${stats.requests}$`) }).waitFor({ timeout: 15_000 });
        const overall = `${(stats.hitRate * 100).toFixed(1).replace(/\.0+$/, '')}%`;
        const shown = (await dashboard.locator('.hit-rate .big-value').first().textContent())?.trim();
        expect(shown === overall, `hit rate shown ${shown}, gateway says ${overall}`);
        expect(stats.semanticHits === 1 && stats.exactHits === 1 && stats.skipped === 1, `unexpected stats ${JSON.stringify(stats)}`);
      },
    ],
    [
      'a request shows up in the live feed as it happens',
      async () => {
        expect((await ask('How does TCP slow start work?')).cache === 'HIT', 'the repeated question missed');
        await dashboard.locator('.live-item', { hasText: 'sim-llama-3-8b' }).first().waitFor({ timeout: 10_000 });
        // The numbers refresh on their own (at most every 2 s): 6 requests now.
        await dashboard.locator('.kpi[aria-label="Requests"] .kpi-value', { hasText: /^6$/ }).waitFor({ timeout: 10_000 });
        await page.screenshot({ path: `${shots}/dashboard-overview.png` });
      },
    ],
    [
      'the skipped prompt is listed with its reason and the trigger highlighted',
      async () => {
        await dashboard.locator('vscode-tab-header', { hasText: 'Skipped' }).click();
        const item = dashboard.locator('.skipped-item', { hasText: 'merges two sorted lists' });
        await item.waitFor({ timeout: 15_000 });
        const mark = (await item.locator('mark').first().textContent())?.trim() ?? '';
        expect(
          mark.length > 0 && CODE_PROMPT.toLowerCase().includes(mark.toLowerCase()),
          `highlighted "${mark}", not a part of the prompt`,
        );
        const text = (await item.textContent()) ?? '';
        expect(/code/i.test(text), `no code-generation reason in "${text.slice(0, 200)}"`);
        await page.screenshot({ path: `${shots}/dashboard-skipped.png` });
      },
    ],
    [
      'an entry is evicted from the dashboard',
      async () => {
        await dashboard.locator('vscode-tab-header', { hasText: 'Entries' }).click();
        const search = dashboard.locator('vscode-textfield[aria-label="Search entries"] input');
        await search.fill('CAP theorem');
        await search.press('Enter');
        const row = dashboard.locator('.entries-table tbody tr', { hasText: 'CAP theorem' });
        await row.waitFor({ timeout: 15_000 });
        // The filtered page replaces the unfiltered one: only the one entry is left.
        await dashboard.locator('.entries-table tbody tr').nth(1).waitFor({ state: 'detached', timeout: 15_000 });
        await row.locator('td.col-check').click();
        await page.screenshot({ path: `${shots}/dashboard-entries.png` });
        await dashboard.locator('vscode-button', { hasText: 'Evict selected (1)' }).click();
        await row.waitFor({ state: 'detached', timeout: 15_000 });
        const left = await entriesMatching('CAP theorem');
        expect(left === 0, `the gateway still holds ${left} matching entries`);
        const again = await ask(EVICT_PROMPT);
        expect(again.cache === 'MISS', `the evicted prompt was answered with ${again.cache}`);
      },
    ],
    [
      '"Deja: Evict Cached Entry…" finds an entry by its prompt and evicts it',
      async () => {
        expect((await entriesMatching('TCP slow start')) === 1, 'the TCP entry is missing before the eviction');
        await runCommand('Deja: Evict Cached Entry');
        // The entry pick, not the palette it replaced (still closing while the command starts).
        const input = page.locator('.quick-input-widget input[placeholder="Search cached prompts to evict"]');
        await input.waitFor({ timeout: 10_000 });
        await input.fill('TCP slow');
        await page
          .locator('.quick-input-list .monaco-list-row', { hasText: 'How does TCP slow start work?' })
          .first()
          .waitFor({ timeout: 10_000 });
        await page.screenshot({ path: `${shots}/evict-quick-pick.png` });
        await page.keyboard.press('Enter');
        const deadline = Date.now() + 10_000;
        while ((await entriesMatching('TCP slow start')) !== 0) {
          if (Date.now() > deadline) throw new Error('the picked entry is still stored');
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      },
    ],
    [
      '"Deja: Clear Cache" asks first, then empties the cache and the dashboard',
      async () => {
        const before = (await admin('/entries?sort=created&order=desc&offset=0&limit=1')).total;
        expect(before > 0, 'nothing to clear');
        await dashboard.locator('vscode-textfield[aria-label="Search entries"] input').fill('');
        await dashboard.locator('vscode-textfield[aria-label="Search entries"] input').press('Enter');
        await runCommand('Deja: Clear Cache');
        const dialog = page.locator('.monaco-dialog-box');
        await dialog.waitFor({ timeout: 10_000 });
        await page.screenshot({ path: `${shots}/clear-cache-confirm.png` });
        expect((await admin('/entries?sort=created&order=desc&offset=0&limit=1')).total === before, 'cleared before the user confirmed');
        await dialog.locator('.monaco-button', { hasText: 'Clear Cache' }).click();
        const deadline = Date.now() + 10_000;
        while ((await admin('/entries?sort=created&order=desc&offset=0&limit=1')).total !== 0) {
          if (Date.now() > deadline) throw new Error('entries left after clearing');
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        await dashboard.locator('.entries-table tbody tr').first().waitFor({ state: 'detached', timeout: 10_000 });
      },
    ],
  ];

  let passed = 0;
  let failed = 0;
  const began = Date.now();
  try {
    for (const [index, [name, body]] of steps.entries()) {
      const start = Date.now();
      try {
        await body();
        passed++;
        console.log(`  ✔ ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
      } catch (error) {
        failed += steps.length - index;
        console.log(`  ✘ ${name}: ${error.message.split('\n')[0]}`);
        for (const [skipped] of steps.slice(index + 1)) console.log(`  ✘ ${skipped}: not reached`);
        await page.screenshot({ path: `${shots}/failure.png` }).catch(() => {});
        break;
      }
    }
  } finally {
    await browser.close();
  }
  console.log(`UI test: ${passed} passed, ${failed} failed in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  return { passed, failed };
}

// End-to-end check of the message flow against the fake host: node webview-ui/preview/smoke.mjs
// Drives the real bundle under the strict CSP (no 'unsafe-inline') and checks what it posts.
import { build } from 'esbuild';
import { launchChromium } from './chromium.mjs';
import { serve } from './serve.mjs';

// The fake host, bundled fresh (the dashboard bundle itself comes from `node esbuild.mjs`).
await build({
  entryPoints: [new URL('./preview.ts', import.meta.url).pathname],
  outfile: new URL('./preview.js', import.meta.url).pathname,
  bundle: true,
  logLevel: 'warning',
});
const server = await serve(0);
const base = `http://127.0.0.1:${server.address().port}/preview/index.html`;
const browser = await launchChromium();
let failures = 0;
let passes = 0;
const check = (cond, what) => {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (cond) passes++;
  else failures++;
};

async function open(query) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const sent = [];
  const problems = [];
  page.on('console', (m) => {
    const t = m.text();
    if (t.startsWith('[host ←]')) sent.push(JSON.parse(t.slice(9)));
    if (m.type() === 'error' || m.type() === 'warning') problems.push(t);
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('dialog', (d) => d.accept());
  await page.goto(`${base}?${query}`);
  return { page, sent, problems };
}
const types = (sent) => sent.map((m) => m.type);
const since = (sent, n) => sent.slice(n);

// The preview logs only the first 200 chars; keep messages short enough to parse.
{
  const { page, sent, problems } = await open('scenario=normal&tab=entries&csp=strict');
  await page.waitForSelector('.entries-table tbody tr');
  check(types(sent)[0] === 'ready', 'ready is the first message');
  check(
    ['stats/request', 'entries/request', 'skipped/request'].every((t) => types(sent).includes(t)),
    'stats, entries and skipped requested after the gateway is up',
  );
  check((await page.locator('.entries-table tbody tr').count()) === 50, '50 rows rendered');
  check((await page.textContent('.pager-label')) === '1–50 of 1,234', 'pager label 1–50 of 1,234');

  let n = sent.length;
  await page.locator('.search input').fill('');
  await page.locator('.search input').pressSequentially('TCP', { delay: 40 });
  await page.waitForTimeout(600);
  const searches = since(sent, n).filter((m) => m.type === 'entries/request');
  check(
    searches.length === 1 && searches[0].query.search === 'TCP' && searches[0].query.offset === 0,
    `one debounced search request (${JSON.stringify(searches.map((s) => s.query.search))})`,
  );
  await page.waitForTimeout(300);
  check(await page.isVisible('text=/Evict all \\d+ matching/'), 'Evict all matching shown with a count');
  n = sent.length;
  await page.click('text=/Evict all \\d+ matching/');
  await page.waitForTimeout(300);
  const em = since(sent, n).find((m) => m.type === 'entries/evictMatching');
  check(em && em.filter.search === 'TCP', 'entries/evictMatching with the search');

  await page.locator('.search input').fill('');
  await page.keyboard.press('Enter');
  await page.waitForTimeout(500);
  check(!(await page.isVisible('text=/Evict all/')), 'Evict all matching hidden without a search');
  const total = await page.textContent('.pager-label');
  n = sent.length;
  await page.click('.pager vscode-button:has-text("Next")');
  await page.waitForTimeout(400);
  check(
    since(sent, n).some((m) => m.type === 'entries/request' && m.query.offset === 50),
    'Next asks for offset 50',
  );
  check(
    (await page.textContent('.pager-label')).startsWith('51–100 of'),
    `pager after Next: ${await page.textContent('.pager-label')} (was ${total})`,
  );

  await page.click('.entries-table tbody tr:nth-child(1) vscode-checkbox');
  await page.click('.entries-table tbody tr:nth-child(2) vscode-checkbox');
  check(await page.isVisible('text=Evict selected (2)'), 'Evict selected (2)');
  check(await page.locator('.detail').isHidden(), 'checkbox clicks do not open the detail');
  n = sent.length;
  await page.click('text=Evict selected (2)');
  await page.waitForTimeout(400);
  const ev = since(sent, n).find((m) => m.type === 'entries/evict');
  check(ev && ev.ids.length === 2, 'entries/evict with 2 ids');
  check(since(sent, n).length === 1, 'nothing else sent on evict');

  // sort by header
  n = sent.length;
  await page.click('th.col-hits .sort-button');
  await page.waitForTimeout(300);
  const sortReq = since(sent, n).find((m) => m.type === 'entries/request');
  check(
    sortReq && sortReq.query.sort === 'hits' && sortReq.query.order === 'desc' && sortReq.query.offset === 0,
    'clicking Hits sorts by hits desc from offset 0',
  );
  check((await page.getAttribute('th.col-hits', 'aria-sort')) === 'descending', 'aria-sort on Hits');
  n = sent.length;
  await page.click('.toolbar .icon-button[aria-label^="Sort order"]');
  await page.waitForTimeout(300);
  check(
    since(sent, n).some((m) => m.type === 'entries/request' && m.query.order === 'asc'),
    'order toggle asks ascending',
  );

  // sort select
  n = sent.length;
  await page.click('.sort-select');
  await page.waitForTimeout(200);
  await page.locator('.sort-select li:has-text("Size")').first().click();
  await page.waitForTimeout(300);
  check(
    since(sent, n).some((m) => m.type === 'entries/request' && m.query.sort === 'size'),
    'sort select asks sort=size',
  );

  // detail
  n = sent.length;
  await page.click('.entries-table tbody tr:nth-child(3)');
  await page.waitForSelector('.detail pre.code');
  const er = since(sent, n).find((m) => m.type === 'entry/request');
  check(!!er, 'row click posts entry/request');
  const id = er.id;
  check((await page.getAttribute(`tr[data-id="${id}"]`, 'aria-selected')) === 'true', 'row marked selected');
  n = sent.length;
  await page.click('.detail vscode-button:has-text("Evict")');
  await page.waitForTimeout(300);
  const ev1 = since(sent, n).find((m) => m.type === 'entries/evict');
  check(ev1 && ev1.ids.length === 1 && ev1.ids[0] === id, 'detail Evict posts that id');
  check(await page.locator('.detail').isHidden(), 'detail closed after evict');

  // keyboard
  await page.focus('.entries-table tbody tr:nth-child(1) .row-open');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const focusedRow = await page.evaluate(() => document.activeElement?.closest('tr')?.rowIndex);
  check(focusedRow === 3, `ArrowDown moves between rows (row ${focusedRow})`);
  n = sent.length;
  await page.keyboard.press('Enter');
  await page.waitForTimeout(300);
  check(
    since(sent, n).some((m) => m.type === 'entry/request'),
    'Enter on a row opens it',
  );
  await page.waitForSelector('.detail pre.code');
  check(
    await page.evaluate(() => document.activeElement?.classList.contains('detail-title')),
    'keyboard open moves focus to the detail pane',
  );
  await page.keyboard.press('Escape');
  await page.waitForTimeout(100);
  check(await page.locator('.detail').isHidden(), 'Escape closes the detail');
  check(
    await page.evaluate(
      () => document.activeElement?.classList.contains('row-open') && document.activeElement.closest('tr').rowIndex === 3,
    ),
    'focus returns to the row',
  );

  // clear
  n = sent.length;
  await page.click('vscode-button:has-text("Clear cache")');
  await page.waitForTimeout(400);
  check(
    since(sent, n).some((m) => m.type === 'entries/clear'),
    'Clear cache posts entries/clear',
  );
  await page.waitForTimeout(300);
  check(await page.isVisible('text=The cache is empty'), 'empty table message after clear');

  // window
  n = sent.length;
  await page.click('.window-select');
  await page.waitForTimeout(200);
  await page.locator('.window-select li:has-text("Last 7 days")').first().click();
  await page.waitForTimeout(400);
  check(
    since(sent, n).some((m) => m.type === 'stats/request' && m.window === '7d'),
    'window select asks stats for 7d',
  );

  // skipped
  await page.click('vscode-tab-header:has-text("Skipped")');
  await page.waitForSelector('.skipped-item');
  n = sent.length;
  await page.click('.reason-select');
  await page.waitForTimeout(200);
  await page.locator('.reason-select li:has-text("Financial")').first().click();
  await page.waitForTimeout(400);
  check(
    since(sent, n).some((m) => m.type === 'skipped/request' && m.reason === 'financial' && m.offset === 0),
    'reason filter asks skipped for financial',
  );
  const badges = await page.locator('.skipped-item vscode-badge').allTextContents();
  check(badges.length > 0 && badges.every((b) => b === 'Financial'), `only financial items shown (${badges.length})`);
  const marks = await page.locator('.skipped-item mark').allTextContents();
  check(marks.includes('курс доллара') && marks.includes('current EUR/USD exchange rate'), 'spans highlighted in English and Russian');

  check(problems.length === 0, `no console errors or CSP violations under strict CSP (${problems.join(' | ')})`);
  await page.close();
}

{
  const { page, sent, problems } = await open('scenario=off');
  await page.waitForSelector('.down-card');
  check(!types(sent).includes('entries/request'), 'no data requested while the gateway is off');
  await page.click('.down-card vscode-button');
  await page.waitForSelector('.kpis', { timeout: 5000 });
  check(types(sent).includes('gateway/start'), 'Start posts gateway/start');
  check(types(sent).includes('stats/request') && types(sent).includes('entries/request'), 'data requested once the gateway is running');
  check(await page.locator('.gateway-down').isHidden(), 'down panel hidden once running');
  check(problems.length === 0, `no console errors (${problems.join(' | ')})`);
  await page.close();
}

{
  const { page } = await open('scenario=error&banner=1');
  await page.waitForSelector('.banner');
  await page.click('.banner .icon-button');
  check((await page.locator('.banner').count()) === 0, 'banner dismissed');
  check(await page.isVisible('.app-header .error-text'), 'error message in the header');
  await page.close();
}

{
  const { page } = await open('scenario=normal');
  await page.waitForSelector('.live-item');
  await page.waitForTimeout(2500);
  const n1 = await page.locator('.live-item').count();
  check(n1 >= 2, `live feed grows (${n1})`);
  check((await page.getAttribute('.live-list', 'aria-live')) === 'polite', 'live feed is aria-live');
  const kv = await page.locator('dt:has-text("KV-cache usage") + dd').textContent();
  check(
    kv.startsWith('Unavailable') && kv.includes('does not expose') && !kv.includes('0%'),
    `unavailable vLLM figure shows its reason (${kv})`,
  );
  check(await page.isVisible('text=Unstable system prompts'), 'prefix-stability warning shown');
  await page.close();
}

// The team tier (a shared Redis): connected in the default scenario.
{
  const { page, problems } = await open('scenario=normal&csp=strict');
  await page.waitForSelector('.team-card');
  const text = async (selector) => ((await page.textContent(selector)) ?? '').replace(/\s+/g, ' ').trim();
  const card = await text('.team-card');
  check(
    /Connected for \d+ (s|min|h)/.test(card) && card.includes('platform') && card.includes('redis://deja:***@redis.internal:6379/0'),
    `team card: state, team and masked URL (${card})`,
  );
  const hits = Number((await text('.kpi[aria-label="Requests"] .kpi-sub')).match(/^([\d,]+) hits/)?.[1].replace(/,/g, ''));
  const teamHits = await text('.team-hits');
  check(
    teamHits === `${Math.round(hits * 0.21).toLocaleString('en-US')}team hits · 21% of all hits`,
    `team hits: count and share of all hits (${teamHits}; ${hits} hits)`,
  );
  check((await text('.team-card dt:has-text("Updates from team") + dd')) === '1,532', 'updates applied from teammates');
  check((await page.locator('.banner').count()) === 0, 'no banner while the team cache is connected');
  const badge = page.locator('.live-item vscode-badge.tier-team').first();
  await badge.waitFor({ timeout: 8000 });
  check((await badge.textContent()) === 'team', 'a team hit has a "team" badge in the live feed');
  const item = await badge.evaluate((el) => el.closest('.live-item').getAttribute('aria-label'));
  check(/^\S+ (Hit|Semantic hit) from the team /.test(item), `the team hit's accessible name says so (${item})`);

  const banner = '.banner.warning';
  const message =
    'Team cache unreachable (connect ECONNREFUSED 10.20.0.7:6379): Deja is answering from this machine only and will resume sharing when Redis is back.';
  await page.evaluate(() => previewHost.setTeam('down'));
  await page.waitForSelector(banner, { timeout: 3000 });
  check((await text(`${banner} .banner-text`)) === message, 'warning banner while the team cache is down');
  check(
    /^Down (just now|for \d+ s)$/.test(await text('.team-card .team-state')) &&
      (await text('.team-card dt:has-text("Why") + dd')).includes('ECONNREFUSED'),
    'team card shows down, and why',
  );
  await page.evaluate(() => previewHost.setTeam('connected'));
  await page.waitForSelector(banner, { state: 'detached', timeout: 3000 });
  check(
    (await page.locator('.banner').count()) === 0 && (await text('.team-card .team-state')).startsWith('Connected'),
    'banner gone once the team cache is connected again',
  );

  await page.evaluate(() => previewHost.setTeam('down'));
  await page.waitForSelector(banner, { timeout: 3000 });
  await page.click(`${banner} .icon-button`);
  await page.evaluate(() => previewHost.setTeam('down')); // the next refresh, same outage
  await page.waitForTimeout(300);
  check((await page.locator(banner).count()) === 0, 'a dismissed team banner stays hidden for the rest of that outage');
  await page.evaluate(() => previewHost.setTeam('connected'));
  await page.waitForTimeout(300);
  await page.evaluate(() => previewHost.setTeam('down'));
  await page.waitForSelector(banner, { timeout: 3000 });
  check((await page.locator(banner).count()) === 1, 'the next outage shows the banner again');
  check(problems.length === 0, `no console errors with the team tier under strict CSP (${problems.join(' | ')})`);
  await page.close();
}

{
  // Down from the start (?team=down): the banner comes with the first stats.
  const { page } = await open('scenario=normal&team=down');
  await page.waitForSelector('.banner.warning', { timeout: 5000 });
  check((await page.textContent('.team-card .team-state')).startsWith('Down for'), 'team=down: banner and a down team card on load');
  await page.close();
}

{
  // No team configured: nothing about teams anywhere.
  const { page } = await open('scenario=normal&team=none');
  await page.waitForSelector('.kpis');
  await page.waitForTimeout(4000);
  check((await page.locator('.team-card').count()) === 0, 'no team card when no team tier is configured');
  check(!/team/i.test(await page.textContent('.overview')), 'the overview never mentions a team then');
  check(
    (await page.locator('.banner').count()) === 0 &&
      (await page.locator('.live-item').count()) >= 2 &&
      (await page.locator('.tier-team').count()) === 0,
    'no banner and no team badges then',
  );
  await page.close();
}

{
  const { page } = await open('scenario=empty');
  await page.waitForSelector('.empty-state');
  const text = (await page.textContent('.empty-state')).replace(/\s+/g, ' ');
  check(
    text.includes('No requests yet.') && text.includes('Point any OpenAI-compatible tool at http://127.0.0.1:8787/v1'),
    'empty state with the gateway URL',
  );
  check(await page.isVisible('.stack .team-card'), 'empty state still shows the team card');
  await page.close();
}

await browser.close();
server.close();
console.log(`${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);

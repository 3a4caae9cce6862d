// Screenshots of the preview with Debian's Chromium: node webview-ui/preview/screenshot.mjs [outDir]
// Saves /tmp/dashboard-*.png (1400×900) and prints console errors and CSP violations per page.
import { launchChromium } from './chromium.mjs';
import { serve } from './serve.mjs';

const out = process.argv[2] ?? '/tmp';
const server = await serve(0);
const base = `http://127.0.0.1:${server.address().port}/preview/index.html`;
const browser = await launchChromium();

const shots = [
  { name: 'overview', query: 'scenario=normal', wait: '.kpis', settle: 9000, full: true },
  {
    name: 'entries',
    query: 'scenario=normal&tab=entries',
    wait: '.entries-table tbody tr',
    click: '.entries-table tbody tr:nth-child(3) .row-open',
    after: '.detail pre.code',
    settle: 400,
  },
  { name: 'skipped', query: 'scenario=normal&tab=skipped', wait: '.skipped-item', settle: 400, full: true },
  { name: 'empty', query: 'scenario=empty', wait: '.empty-state', settle: 400 },
  { name: 'off', query: 'scenario=off', wait: '.down-card', settle: 300 },
  { name: 'error', query: 'scenario=error&banner=1', wait: '.down-card', settle: 500 },
  { name: 'loading', query: 'scenario=loading', wait: '.loading', settle: 300 },
  { name: 'strict-csp', query: 'scenario=normal&csp=strict', wait: '.kpis', settle: 1500 },
  { name: 'light', query: 'scenario=normal&theme=light&tab=skipped', wait: '.skipped-item', settle: 400 },
  { name: 'narrow', query: 'scenario=normal', wait: '.kpis', settle: 1500, viewport: { width: 760, height: 900 } },
  // The team tier: the overview above shows it connected; here it is down (banner), in both themes.
  { name: 'overview-light', query: 'scenario=normal&theme=light', wait: '.kpis', settle: 4000, full: true },
  { name: 'team-down', query: 'scenario=normal&team=down', wait: '.banner.warning', settle: 4000, full: true },
  { name: 'judge-blind', query: 'scenario=normal&judge=blind', wait: '.kpis', settle: 4000, full: true },
  { name: 'team-down-light', query: 'scenario=normal&team=down&theme=light', wait: '.banner.warning', settle: 4000, full: true },
];

const only = process.env.SHOTS?.split(',');
for (const shot of shots) {
  if (only && !only.includes(shot.name)) continue;
  const page = await browser.newPage({ viewport: shot.viewport ?? { width: 1400, height: 900 } });
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${base}?${shot.query}`);
  await page.waitForSelector(shot.wait, { timeout: 10_000 });
  if (shot.click) {
    await page.click(shot.click);
    await page.waitForSelector(shot.after, { timeout: 10_000 });
  }
  await page.waitForTimeout(shot.settle);
  const file = `${out}/dashboard-${shot.name}.png`;
  await page.screenshot({ path: file });
  if (shot.full) await page.screenshot({ path: `${out}/dashboard-${shot.name}-full.png`, fullPage: true });
  console.log(`${file}${problems.length ? `\n  ${problems.join('\n  ')}` : '  (no console errors)'}`);
  await page.close();
}
await browser.close();
server.close();

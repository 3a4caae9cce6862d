// `npm test`: every test tier, then one total line, "N passed, N failed", which CI reads.
// A tier that crashes before reporting counts as one failure, so a broken run is never green.
import { spawn, spawnSync } from 'node:child_process';

const tiers = [
  { name: 'lint: import boundaries and format', command: process.execPath, args: ['scripts/lint.mjs'] },
  { name: 'unit + integration', command: 'npx', args: ['mocha', 'test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'] },
  // The packaged extension in a real VS Code (code-server) and headless Chromium; installs them on first run.
  { name: 'e2e: the extension in VS Code', command: process.execPath, args: ['test/e2e/run.mjs'] },
];

function run(tier) {
  return new Promise((resolve) => {
    const child = spawn(tier.command, tier.args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      const matches = [...tail.matchAll(/^(\d+) passed, (\d+) failed$/gm)];
      const last = matches.at(-1);
      if (!last) resolve({ passed: 0, failed: 1, code });
      else resolve({ passed: Number(last[1]), failed: Number(last[2]) + (code !== 0 && Number(last[2]) === 0 ? 1 : 0), code });
    });
  });
}

let passed = 0;
let failed = 0;
// The servers the integration tests start on their own (Redis), installed once from apt.
const setup = spawnSync('bash', ['test/setup.sh'], { stdio: 'inherit' });
if (setup.status !== 0) {
  process.stdout.write('test setup failed: the tests that need its servers will fail\n');
}
for (const tier of tiers) {
  process.stdout.write(`\n=== ${tier.name} ===\n`);
  const result = await run(tier);
  passed += result.passed;
  failed += result.failed;
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);

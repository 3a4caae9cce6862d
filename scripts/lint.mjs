// `npm run lint`, and the first tier of `npm test`: the import boundaries (ESLint, eslint.config.mjs)
// and the format (prettier, .prettierrc.json), each one check. `npm run format` fixes both where it can.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const bin = (name) => join(import.meta.dirname, '..', 'node_modules', '.bin', name);
const checks = [
  { name: 'import boundaries and type imports (eslint)', bin: bin('eslint'), args: ['.'] },
  { name: 'format (prettier --check)', bin: bin('prettier'), args: ['--check', '.', '--log-level', 'warn'] },
];

let passed = 0;
let failed = 0;
for (const check of checks) {
  const result = spawnSync(check.bin, check.args, { stdio: 'inherit' });
  if (result.status === 0) {
    passed += 1;
    process.stdout.write(`  ✔ ${check.name}\n`);
  } else {
    failed += 1;
    process.stdout.write(`  ✘ ${check.name}: run npm run format, then npm run lint\n`);
  }
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);

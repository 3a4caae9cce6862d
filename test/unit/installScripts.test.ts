import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// npm decides from package.json's `allowScripts` which dependencies' install scripts run
// (npm 11.18 and later skip the denied ones, npm 12 runs only the allowed ones). A package
// with an install script that the field does not name is skipped silently by a newer npm:
// for sqlite3 that is a cache that cannot open its database. These tests keep the field
// in step with package-lock.json.

const ROOT = resolve(__dirname, '../..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, unknown> };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { hasInstallScript?: boolean; link?: boolean }>;
};
const allowScripts = manifest.allowScripts ?? {};

/** The package names in the lockfile that have an install script. */
function withInstallScripts(): Set<string> {
  const names = new Set<string>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || !entry.hasInstallScript) continue;
    names.add(path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  }
  return names;
}

describe('install scripts (package.json allowScripts)', () => {
  it('decides, for every dependency with an install script, whether it runs', () => {
    const undecided = [...withInstallScripts()].filter((name) => !(name in allowScripts));
    assert.deepEqual(undecided, [], 'add them to "allowScripts": true to run the script, false to skip it');
  });

  it('names no package that has no install script any more', () => {
    const names = withInstallScripts();
    assert.deepEqual(
      Object.keys(allowScripts).filter((key) => !names.has(key)),
      [],
    );
  });

  it('uses name-only entries: the lockfile keeps no download addresses, so npm cannot verify a pinned version', () => {
    for (const [key, value] of Object.entries(allowScripts)) {
      assert.ok(!key.slice(1).includes('@'), `${key}: write the bare package name`);
      assert.equal(typeof value, 'boolean', key);
    }
  });

  it("builds sqlite3, and never runs onnxruntime-node's download of GPU binaries", () => {
    assert.equal(allowScripts.sqlite3, true);
    assert.equal(allowScripts['onnxruntime-node'], false);
  });
});

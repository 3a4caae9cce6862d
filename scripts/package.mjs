// `npm run package`: builds the VSIX for this machine's platform (linux-x64 here).
//
// The VSIX carries the bundles (extension, CLI, embedding worker, dashboard) and only the
// modules that cannot be bundled: sqlite3 and onnxruntime-node are native, so the package is
// platform-specific and ships one platform's binaries. vectra goes in as one self-contained file.
// Everything is staged in out/vsix with a package.json that lists no dependencies, so vsce
// packs exactly what is listed here. The modules go in dist/node_modules: Node finds them from
// the bundles beside it, and vsce (which drops a top-level node_modules without --dependencies) keeps them.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const root = process.cwd();
const stage = join(root, 'out', 'vsix');
const target = process.env.DEJA_VSIX_TARGET ?? `${process.platform}-${process.arch}`;
const [platform, arch] = target.split('-');
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const vsix = join(root, `${pkg.name}-${pkg.version}-${target}.vsix`);

const modules = 'dist/node_modules';
/** Copies a path from node_modules into the staged dist/node_modules. */
const copyModule = (path) => copy(`node_modules/${path}`, `${modules}/${path}`);

function copy(from, to = from) {
  if (!existsSync(from)) throw new Error(`missing ${from}: run npm ci first`);
  mkdirSync(dirname(join(stage, to)), { recursive: true });
  cpSync(from, join(stage, to), { recursive: true });
}

execFileSync(process.execPath, ['esbuild.mjs', '--production'], { stdio: 'inherit' });
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

for (const file of [
  'dist/extension.js',
  'dist/cli.js',
  'dist/embeddingWorker.js',
  'webview-ui/dist',
  'media',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
])
  copy(file);

// sqlite3: its loader, the one compiled binding, and bindings (which finds it).
copyModule('sqlite3/package.json');
copyModule('sqlite3/LICENSE');
copyModule('sqlite3/lib');
copyModule('sqlite3/build/Release/node_sqlite3.node');
for (const name of ['bindings', 'file-uri-to-path']) copyModule(name);
rmSync(join(stage, modules, 'file-uri-to-path/test'), { recursive: true, force: true });

// onnxruntime-node: its JS and only this platform's runtime; onnxruntime-common's CommonJS build.
copyModule('onnxruntime-node/package.json');
copyModule('onnxruntime-node/dist');
const ortBinaries = `node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}`;
if (!existsSync(ortBinaries)) throw new Error(`onnxruntime-node has no binaries for ${target}`);
copyModule(ortBinaries.slice('node_modules/'.length));
copyModule('onnxruntime-common/package.json');
copyModule('onnxruntime-common/dist/cjs');

// vectra: bundled into a single file under its own name, loaded only when chosen as the vector store.
const vectraVersion = JSON.parse(readFileSync('node_modules/vectra/package.json', 'utf8')).version;
await build({
  entryPoints: ['node_modules/vectra/lib/index.js'],
  outfile: join(stage, modules, 'vectra/index.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  logLevel: 'error',
});
writeFileSync(
  join(stage, modules, 'vectra/package.json'),
  JSON.stringify({ name: 'vectra', version: vectraVersion, license: 'MIT', main: 'index.js' }, null, 2),
);
copyModule('vectra/LICENSE');

// The manifest, without what only matters in the repo.
const { scripts: _scripts, devDependencies: _dev, dependencies: _deps, ...manifest } = pkg;
writeFileSync(join(stage, 'package.json'), JSON.stringify(manifest, null, 2));
writeFileSync(join(stage, '.vscodeignore'), '**/*.map\n**/*.d.ts\n');

// A stale ABI is the classic way such a package breaks: prove the natives load before packing.
const loadCheck = `for (const name of ['sqlite3', 'onnxruntime-node', 'onnxruntime-common', 'vectra']) {
  const resolved = require.resolve(name);
  if (!resolved.startsWith(process.cwd())) throw new Error(name + ' resolved outside the package: ' + resolved);
  require(name);
}`;
execFileSync(process.execPath, ['-e', loadCheck], { cwd: join(stage, 'dist'), stdio: 'inherit' });

rmSync(vsix, { force: true });
execFileSync(join(root, 'node_modules/.bin/vsce'), ['package', '--no-dependencies', '--target', target, '--out', vsix], {
  cwd: stage,
  stdio: 'inherit',
});
console.log(`${vsix} (${(statSync(vsix).size / 1024 / 1024).toFixed(1)} MB)`);

// Bundles the CLI, the embedding worker and the extension into dist/, and the dashboard into webview-ui/dist/.
// Only native modules stay external (sqlite3, onnxruntime-node with the onnxruntime-common it
// registers its backend in): they load from node_modules at run time, and are all a VSIX ships.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';

const production = process.argv.includes('--production');
const metafile = process.argv.includes('--metafile');
// vectra (an optional vector store) is external too: bundled it would cost every start 0.5 s and 80 MB
// for its NLP models; the VSIX carries it as one self-contained file (scripts/package.mjs).
const external = ['vscode', 'sqlite3', 'onnxruntime-node', 'onnxruntime-common', 'vectra', 'tsx'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external,
  // transformers.js requires sharp for images; Deja embeds text only (see noImageLibrary.ts).
  alias: { sharp: './src/core/embeddings/noImageLibrary.ts' },
  logLevel: 'warning',
  metafile,
};

const entries = [
  { in: 'src/cli.ts', out: 'dist/cli.js', banner: '#!/usr/bin/env node' },
  // The embedding model runs in a worker thread; workerEmbedder looks for this file beside its bundle.
  { in: 'src/core/embeddings/embeddingWorker.ts', out: 'dist/embeddingWorker.js' },
];
if (existsSync('src/extension.ts')) entries.push({ in: 'src/extension.ts', out: 'dist/extension.js' });

const builds = entries.map(async (entry) => {
  const result = await build({
    ...common,
    entryPoints: [entry.in],
    outfile: entry.out,
    banner: entry.banner ? { js: entry.banner } : undefined,
  });
  if (metafile) writeFileSync(`${entry.out}.meta.json`, JSON.stringify(result.metafile));
});

// The dashboard: a browser bundle for the webview, with its stylesheet and the codicon font.
if (existsSync('webview-ui/src/main.ts')) {
  builds.push(
    build({
      entryPoints: ['webview-ui/src/main.ts'],
      outfile: 'webview-ui/dist/main.js',
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'chrome120',
      sourcemap: !production,
      minify: production,
      logLevel: 'warning',
      loader: { '.css': 'css' },
    }),
  );
  mkdirSync('webview-ui/dist', { recursive: true });
  for (const file of ['codicon.css', 'codicon.ttf']) copyFileSync(`node_modules/@vscode/codicons/dist/${file}`, `webview-ui/dist/${file}`);
  if (existsSync('webview-ui/src/styles.css')) copyFileSync('webview-ui/src/styles.css', 'webview-ui/dist/styles.css');
}

await Promise.all(builds);

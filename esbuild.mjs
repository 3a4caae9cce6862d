// Bundles the CLI (and, once it exists, the extension) into dist/.
// Native and heavy modules stay external: they load from node_modules at run time.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const external = ['vscode', 'sqlite3', '@keyv/sqlite', 'onnxruntime-node', '@huggingface/transformers', 'sharp', 'vectra', 'tsx'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external,
  logLevel: 'warning',
};

const entries = [
  { in: 'src/cli.ts', out: 'dist/cli.js', banner: '#!/usr/bin/env node' },
  // The embedding model runs in a worker thread; workerEmbedder looks for this file beside its bundle.
  { in: 'src/core/embeddings/embeddingWorker.ts', out: 'dist/embeddingWorker.js' },
];
if (existsSync('src/extension.ts')) entries.push({ in: 'src/extension.ts', out: 'dist/extension.js' });

await Promise.all(
  entries.map((entry) =>
    build({ ...common, entryPoints: [entry.in], outfile: entry.out, banner: entry.banner ? { js: entry.banner } : undefined }),
  ),
);

// What both ways of running the extension-host suite need: the packaged extension (the VSIX
// and its staged contents), the suite compiled for the extension host, the tiny embedding
// model and a simulated vLLM on loopback, and the user settings that point Deja at them.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { freePort } from './codeServer.mjs';

export async function prepareE2E(root) {
  const cleanups = [];
  const tsx = join(root, 'node_modules/.bin/tsx');
  execFileSync(process.execPath, ['scripts/package.mjs'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  await build({
    absWorkingDir: root,
    entryPoints: ['test/e2e/suite/index.ts', 'test/e2e/suite/extension.test.ts'],
    outdir: 'out/e2e/suite',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });

  const scratch = mkdtempSync(join(tmpdir(), 'deja-e2e-'));
  cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
  const model = join(scratch, 'model');
  execFileSync(tsx, ['test/e2e/writeTinyModel.ts', model], { cwd: root, stdio: 'inherit' });

  const upstreamPort = await freePort();
  const sim = spawn(tsx, ['test/fixtures/simVllmCli.ts', '--port', String(upstreamPort), '--ttft-ms', '20', '--token-latency-ms', '2'], {
    cwd: root,
    stdio: 'ignore',
  });
  cleanups.push(() => sim.kill('SIGTERM'));
  const upstream = `http://127.0.0.1:${upstreamPort}/v1`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${upstream}/models`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 300) throw new Error('the simulated vLLM did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    vsix: join(root, `${name}-${version}-${process.platform}-${process.arch}.vsix`),
    packaged: join(root, 'out/vsix'),
    testsPath: join(root, 'out/e2e/suite/index.js'),
    upstream,
    scratch,
    /**
     * User settings for one run: a port of its own, a data directory of its own. The tiny
     * model has random weights, so its neighbours are arbitrary: runs that count exact hits
     * and misses leave the semantic level off. A run that wants a semantic hit decides it
     * statically: verified mode would (rightly) serve nothing from a model that knows nothing.
     */
    async settingsFor(label, semantic) {
      const port = await freePort();
      return {
        port,
        settings: {
          'deja.upstreamUrl': upstream,
          'deja.port': port,
          'deja.dataDirectory': join(scratch, `data-${label}`),
          'deja.semantic.enabled': semantic,
          'deja.semantic.mode': 'static',
          'deja.semantic.embeddingModel': model,
          'deja.semantic.embeddingDtype': 'fp32',
          'deja.logLevel': 'debug',
        },
      };
    },
    cleanup() {
      for (const cleanup of cleanups.reverse()) cleanup();
    },
  };
}

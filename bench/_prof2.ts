import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { startChild, startSim, timedPost } from './lib';
(async () => {
  const sim = await startSim(0, 0);
  const dir = await mkdtemp(join(tmpdir(), 'prof-'));
  const deja = await startChild(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/prof/out', resolve('dist/cli.js'), 'serve', '--port', '0', '--upstream', sim.url, '--data', dir, '--log-level', 'warn'], /OpenAI base URL\s+(\S+)/);
  const body = JSON.stringify({ model: 'sim-llama-3-8b', messages: [{ role: 'user', content: 'same' }] });
  await timedPost(`${deja.url}/chat/completions`, body);
  const r: any = await new Promise((res, rej) => autocannon({ url: `${deja.url}/chat/completions`, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: 50, duration: 5 }, (e, x) => e ? rej(e) : res(x)));
  console.log('rps', r.requests.average);
  await deja.stop(); await sim.stop();
})();

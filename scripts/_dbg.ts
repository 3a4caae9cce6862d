import { Policy } from '../src/core/policy/policy';
const p = new Policy();
for (const t of process.argv.slice(2)) console.log(JSON.stringify(p.classify({ endpoint: 'chat.completions', body: { model: 'm', messages: [{ role: 'user', content: t }] }, now: new Date('2026-11-25') })), '<=', t);

// Node workloads of `make bench`: the binding's poller, the built-in fetch loop, and the cost
// of one no-op call through the addon.
// Prints {"items": n, "seconds": s}.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const [mode, base, , readAhead = '0', expandArg = ''] = process.argv.slice(2);
const expand = expandArg === 'expand';
const headers = {
  Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded',
  Authorization: 'Bearer sim-token-org1', OrganizationId: '1', OfficeId: '101', StaticToken: 'true',
};
const started = performance.now();
let n = 0;
if (mode === 'poller') {
  const st = require('../bindings-node/lib/index.js');
  const client = new st.Client({ baseUrl: base, token: 'sim-token-org1', organizationId: 1, officeId: 101, requestsPerSecond: 0 });
  const poller = new st.Poller(client, { readAhead: Number(readAhead), expand: expand ? ['all'] : undefined });
  for await (const _ of poller.sweep()) n += 1;
} else if (mode === 'noop') {
  // The addon's hand-off cost: a Promise-returning native call that does no I/O.
  const st = require('../bindings-node/lib/index.js');
  const client = new st.Client({ baseUrl: base, token: 'sim-token-org1', organizationId: 1, officeId: 101, requestsPerSecond: 0 });
  const native = new st.Poller(client, {})._native;
  const calls = Number(process.argv[4] ?? 20000);
  for (; n < calls; n += 1) await native.end(0);
} else if (mode === 'fetch') {
  const get = async (url) => { const r = await fetch(url, { headers }); const t = await r.text(); return { status: r.status, body: t.trim() ? JSON.parse(t) : null }; };
  for (let seq = 1; ; seq += 1) {
    const { status, body } = await get(`${base}items/seqOrgID/${seq}`);
    if (status !== 200 || !body) break;
    if (expand) {
      await get(`${base}formdata/${body.id}`);
      await get(`${base}cases/${body.primaryCaseId}`);
      await get(`${base}cases/${body.primaryCaseId}/people`);
      await get(`${base}items/${body.id}/coc`);
    }
    n += 1;
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
console.log(JSON.stringify({ items: n, seconds: (performance.now() - started) / 1000 }));

// A host process for numbers.test.mjs: sweeps with a file checkpoint and upserts every record
// by `record.key` into a JSON file (each entry counting its writes), logging each delivery.
// With `killAt`, it SIGKILLs itself on the second record of that number, after logging the
// delivery and before writing or acknowledging it.
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as st from '../lib/index.mjs';

const cfg = JSON.parse(process.argv[2]);

const keyText = (k) => ('item_id' in k ? `${k.organization_id}/item/${k.item_id}` : `${k.organization_id}/seq/${k.sequential_org_id}`);
const load = () => (existsSync(cfg.store) ? JSON.parse(readFileSync(cfg.store, 'utf8')) : {});
const save = (store) => {
  writeFileSync(`${cfg.store}.tmp`, JSON.stringify(store));
  renameSync(`${cfg.store}.tmp`, cfg.store);
};

const poller = new st.Poller(new st.Client(cfg.client), { checkpoint: new st.FileCheckpoint(cfg.checkpoint), unsafeMinInterval: 0 });
let atKillNumber = 0;
for await (const record of poller.sweep()) {
  const key = keyText(record.key);
  appendFileSync(cfg.log, `${JSON.stringify({ run: cfg.run, key, seq: record.sequentialOrgId, id: record.item.id })}\n`);
  if (record.sequentialOrgId === cfg.killAt && (atKillNumber += 1) === 2) {
    process.kill(process.pid, 'SIGKILL');
    // Nothing after the kill may run: block until it lands.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
    throw new Error('SIGKILL did not land');
  }
  const store = load();
  store[key] = { key: record.key, seq: record.sequentialOrgId, id: record.item.id, writes: (store[key]?.writes ?? 0) + 1 };
  save(store);
}
process.stdout.write(JSON.stringify(poller.status()));

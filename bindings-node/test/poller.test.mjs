import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as st from '../lib/index.mjs';
import { startSimulator, vectors } from './helpers.mjs';

let sim;
before(async () => { sim = await startSimulator(); });
after(() => { sim.stop(); rmSync(dir, { recursive: true, force: true }); });
const dir = mkdtempSync(path.join(tmpdir(), 'safe-node-'));

test('a throw in the for-await body leaves the record unacknowledged', async () => {
  const cp = path.join(dir, 'cp.json');
  const poller = new st.Poller(new st.Client(sim.clientOptions(1)), { checkpoint: new st.FileCheckpoint(cp), unsafeMinInterval: 0 });
  const seen = [];
  await assert.rejects(async () => {
    for await (const record of poller.sweep()) {
      seen.push(record.sequentialOrgId);
      if (record.sequentialOrgId === 7) throw new Error('RMS down');
    }
  }, /RMS down/);
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(poller.status().cursor, 7);
  for await (const record of poller.sweep()) {
    if (record.sequentialOrgId === 9) break;
  }
  assert.equal(poller.status().cursor, 9);
  const rest = [];
  for await (const record of poller.sweep()) rest.push(record.sequentialOrgId);
  assert.deepEqual(rest, Array.from({ length: 32 }, (_, i) => i + 9));
  assert.equal(JSON.parse(readFileSync(cp, 'utf8')).state.cursor, 41);
});

test('handler form with an async handler, expansions and the report', async () => {
  const poller = new st.Poller(new st.Client(sim.clientOptions(2)), { expand: ['form_data', 'case', 'people', 'custody'], unsafeMinInterval: 0 });
  const records = [];
  const report = await poller.sweep(async (r) => { await new Promise((res) => setImmediate(res)); records.push(r); });
  assert.equal(report.summary.items, 40);
  const r = records[0];
  assert.equal(r.organizationId, 2);
  assert.equal(r.case.id, r.item.primaryCaseId);
  assert.ok(r.formData[0].rawData && typeof r.formData[0].data === 'object');
  assert.equal(r.people.length, 2);
  assert.ok(r.custody.length > 0);
  assert.equal(r.late, false);
});

test('a rejecting async handler stops the sweep at that record', async () => {
  const poller = new st.Poller(new st.Client(sim.clientOptions(3)), { unsafeMinInterval: 0 });
  await assert.rejects(poller.sweep(async (r) => { if (r.sequentialOrgId === 5) throw new Error('no'); }), st.ConsumerError);
  assert.equal(poller.status().cursor, 5);
});

test('runForever follows the schedule until cancelled', async () => {
  const poller = new st.Poller(new st.Client(sim.clientOptions(4)), { unsafeMinInterval: 0, interval: 0.05, jitter: 0 });
  const got = [];
  let sweeps = 0;
  await poller.runForever((r) => {
    got.push(r.sequentialOrgId);
    if (r.sequentialOrgId === 40) {
      setTimeout(() => poller.cancel(), 150);
    }
    sweeps += 1;
  });
  assert.equal(got.length, 40);
  assert.ok(poller.lastReport().summary.items >= 0);
});

test('sqlite and async callback checkpoints', async () => {
  const db = path.join(dir, 'cp.db');
  const p = new st.Poller(new st.Client(sim.clientOptions(5)), { checkpoint: new st.SqliteCheckpoint(db), unsafeMinInterval: 0 });
  let n = 0;
  for await (const _ of p.sweep()) n += 1;
  assert.equal(n, 40);

  const store = new Map();
  const cb = new st.CallbackCheckpoint({
    load: async (key) => store.get(key) ?? null,
    save: async (key, state) => { await new Promise((res) => setImmediate(res)); store.set(key, state); },
  });
  const client6 = new st.Client(sim.clientOptions(6));
  const p2 = new st.Poller(client6, { checkpoint: cb, unsafeMinInterval: 0 });
  for await (const r of p2.sweep()) { if (r.sequentialOrgId === 20) break; }
  const [[key, state]] = [...store.entries()];
  assert.match(key, /\|6\|601\|items$/);
  assert.equal(JSON.parse(state).cursor, 20);
  p2.cancel();
  const bad = new st.CallbackCheckpoint({ load: async () => { throw new Error('db offline'); }, save: async () => {} });
  await assert.rejects(new st.Poller(new st.Client(sim.clientOptions(7)), { checkpoint: bad }).open(), st.CheckpointError);
});

test('updated items stream', async () => {
  const p = new st.UpdatedPoller(new st.Client(sim.clientOptions(8)), { since: '2025-01-01T00:00:00Z', unsafeMinInterval: 0 });
  for await (const _ of p.sweep()) { /* drain */ }
  await sim.admin('orgs/8/items/5/touch', {});
  const got = [];
  for await (const r of p.sweep()) got.push(r.item.sequentialOrgId);
  assert.deepEqual(got, [5]);
});

test('a cancelled poller does not keep the process alive', () => {
  const script = `
    const st = require(${JSON.stringify(fileURLToPath(new URL('../lib/index.js', import.meta.url)))});
    const p = new st.Poller(new st.Client(${JSON.stringify(sim.clientOptions(1))}), { unsafeMinInterval: 0, interval: 3600, onEvent: () => {} });
    p.runForever(() => {}).then(() => console.log('stopped'));
    setTimeout(() => p.cancel(), 300);
  `;
  const out = spawnSync(process.execPath, ['-e', script], { timeout: 20000, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /stopped/);
});

test('conformance: validation vectors fail before any request, naming the field', async () => {
  const c = new st.Client(sim.clientOptions(1));
  await sim.resetStats();
  for (const v of vectors.validation) {
    const call = v.model === 'case' ? c.createCase(v.body) : v.model === 'new_person' ? c.createPerson(v.body) : c.createUser(v.body);
    await assert.rejects(call, (err) => err instanceof st.ValidationError && err.field === v.field, JSON.stringify(v));
  }
  assert.equal(await sim.count('/api/cases'), 0);
  assert.equal(await sim.count('/api/people'), 0);
});

test('conformance: form data decodes like the vectors, raw string kept', () => {
  for (const v of vectors.form_data) {
    // An error vector decodes too: fields null, the raw text kept.
    const entry = st.decodeFormData({ formId: 1, data: v.data });
    assert.deepEqual(entry.data, v.fields);
    assert.equal(entry.rawData, v.data);
  }
  const vendor = st.decodeFormData(vectors.models.form_data_entry[0]);
  assert.equal(vendor.id, '5750570d1b5c6008e8e4fcec');
  assert.equal(vendor.data.field5100, true);
});

test('a newer sweep of one poller supersedes the older: no loop acknowledges the other\'s records', async () => {
  const own = await startSimulator();
  try {
    const poller = new st.Poller(new st.Client(own.clientOptions(1)), { unsafeMinInterval: 0 });
    const first = poller.sweep()[Symbol.asyncIterator]();
    assert.equal((await first.next()).value.sequentialOrgId, 1);
    assert.equal((await first.next()).value.sequentialOrgId, 2); // 1 acknowledged
    const second = poller.sweep()[Symbol.asyncIterator]();
    assert.equal((await second.next()).value.sequentialOrgId, 2); // 2 never was
    await assert.rejects(first.next(), (err) => err instanceof st.CheckpointError && /superseded/.test(err.message));
    const rest = [];
    for (let r = await second.next(); !r.done; r = await second.next()) rest.push(r.value.sequentialOrgId);
    assert.deepEqual(rest, Array.from({ length: 38 }, (_, i) => i + 3));
    assert.equal(poller.status().cursor, 41);
    await poller.close();
  } finally {
    own.stop();
  }
});

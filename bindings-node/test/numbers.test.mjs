// Issue 13 through the Node binding, against the simulator: numbers held by several items,
// items renumbered after delivery, corrupt form data, an operator stepping over a number, and
// the conformance vectors of those.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as st from '../lib/index.mjs';
import { startSimulator, vectors } from './helpers.mjs';

let sim;
before(async () => { sim = await startSimulator(); });
after(() => { sim.stop(); rmSync(dir, { recursive: true, force: true }); });
const dir = mkdtempSync(path.join(tmpdir(), 'safe-node-numbers-'));
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** Waits (up to 5 s) until `ready()`: events reach `onEvent` on the event loop, after the fact. */
async function until(ready) {
  for (let waited = 0; !ready() && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Upserts records by `record.key`, counting the writes of each key. */
function upsertStore() {
  const rows = new Map();
  return {
    rows,
    put(record) {
      const k = JSON.stringify(record.key);
      rows.set(k, { seq: record.sequentialOrgId ?? record.item.sequentialOrgId, id: record.item.id, writes: (rows.get(k)?.writes ?? 0) + 1 });
    },
  };
}

function mapCheckpoint() {
  const saved = new Map();
  return { saved, checkpoint: new st.CallbackCheckpoint({ load: async (k) => saved.get(k) ?? null, save: async (k, s) => { saved.set(k, s); } }) };
}

test('a number with two items delivers both (ascending id, distinct keys) and the sweep reaches the blank', async () => {
  const dup = await sim.duplicate(1, 20);
  const ids = [...dup.ids].sort((a, b) => a - b);
  assert.equal(ids.length, 2);
  const c = new st.Client(sim.clientOptions(1));
  const live = [];
  const poller = new st.Poller(c, { unsafeMinInterval: 0, onEvent: (e) => live.push(e) });
  const records = [];
  const report = await poller.sweep((r) => { records.push(r); });
  assert.deepEqual(records.map((r) => r.sequentialOrgId), [...range(1, 20), ...range(20, 40)]);
  const twenty = records.filter((r) => r.sequentialOrgId === 20);
  assert.deepEqual(twenty.map((r) => r.item.id), ids, 'ascending id');
  assert.deepEqual(twenty.map((r) => r.key), ids.map((id) => ({ organization_id: 1, item_id: id })));
  assert.ok(twenty.every((r) => r.item.sequentialOrgId === 20 && r.warnings.length === 0 && !r.late));
  assert.equal(new Set(records.map((r) => JSON.stringify(r.key))).size, 41, 'every record has its own key');
  assert.equal(report.summary.items, 41);
  assert.equal(report.summary.duplicate_numbers, 1);
  assert.equal(report.summary.cursor_end, 41);
  assert.deepEqual(report.summary.outcome, { outcome: 'completed' });
  assert.deepEqual(report.events.filter((e) => e.event === 'duplicate_number'), [{ event: 'duplicate_number', seq: 20, ids }]);
  await until(() => live.at(-1)?.event === 'sweep_finished');
  assert.deepEqual(live.filter((e) => e.event === 'duplicate_number'), [{ event: 'duplicate_number', seq: 20, ids }], 'onEvent');
  assert.equal(live.at(-1).event, 'sweep_finished');
  const status = poller.status();
  assert.equal(status.cursor, 41);
  assert.equal(status.duplicate_numbers, 1);
  assert.equal(status.partial, null);
  assert.equal(status.stuck, null);
  assert.deepEqual(status.skipped, []);

  const both = await c.itemsBySeq(20);
  assert.deepEqual(both.map((i) => i.id), ids);
  assert.ok(both.every((i) => i.sequentialOrgId === 20));
  assert.deepEqual((await c.itemsBySeq(41)), [], 'blank');
  assert.deepEqual((await c.itemsBySeq(3)).map((i) => i.sequentialOrgId), [3]);
  assert.equal((await c.itemBySeq(3)).sequentialOrgId, 3, 'the usual case is unchanged');
  assert.equal(await c.itemBySeq(41), null);
  let err;
  try { await c.itemBySeq(20); } catch (e) { err = e; }
  assert.equal(err?.constructor, st.DuplicateNumberError, String(err));
  assert.ok(err instanceof st.SafeError);
  assert.equal(err.code, 32);
  assert.equal(err.name, 'DuplicateNumberError');
  assert.equal(err.seq, 20);
  assert.deepEqual(err.ids, ids);
  assert.match(err.message, /itemsBySeq/);
  for (const id of ids) assert.ok(err.message.includes(String(id)), err.message);
  await poller.close();
});

test('SIGKILL between the two items of one number: resume redelivers only the second, the store holds both once', async () => {
  const dup = await sim.duplicate(2, 20);
  const [firstId, secondId] = [...dup.ids].sort((a, b) => a - b);
  const files = { checkpoint: path.join(dir, 'kill-cp.json'), store: path.join(dir, 'kill-store.json'), log: path.join(dir, 'kill-log.jsonl') };
  const child = fileURLToPath(new URL('./upsert-child.mjs', import.meta.url));
  const run = (cfg) => new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, JSON.stringify({ ...files, client: sim.clientOptions(2), ...cfg })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errText = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { errText += d; });
    const timer = setTimeout(() => p.kill('SIGTERM'), 30_000);
    p.on('error', reject);
    p.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out, err: errText }); });
  });
  const readJson = (f) => JSON.parse(readFileSync(f, 'utf8'));
  const log = () => readFileSync(files.log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  const killed = await run({ run: 1, killAt: 20 });
  assert.equal(killed.signal, 'SIGKILL', `the child died by its own SIGKILL: ${killed.code} ${killed.err}`);
  const mid = readJson(files.checkpoint).state;
  assert.equal(mid.cursor, 20, 'the cursor stays at the number until all its items are acknowledged');
  assert.deepEqual(mid.partial, { seq: 20, done: [firstId], done_without_id: 0 });
  let store = readJson(files.store);
  assert.equal(Object.keys(store).length, 20, 'numbers 1..19 and the first item of 20');
  assert.ok(`2/item/${firstId}` in store && !(`2/item/${secondId}` in store));
  assert.deepEqual(log().filter((l) => l.seq === 20).map((l) => l.id), [firstId, secondId], 'the second was delivered, then the process died');

  const resumed = await run({ run: 2 });
  assert.equal(resumed.code, 0, resumed.err);
  const second = log().filter((l) => l.run === 2);
  assert.deepEqual(second.map((l) => l.seq), range(20, 40));
  assert.equal(second[0].id, secondId, 'the resume starts with the unacknowledged item');
  assert.ok(!second.some((l) => l.id === firstId), 'the acknowledged first item is not redelivered');
  store = readJson(files.store);
  assert.equal(Object.keys(store).length, 41);
  assert.ok(Object.values(store).every((row) => row.writes === 1), 'every key written exactly once');
  assert.deepEqual(Object.values(store).filter((row) => row.seq === 20).map((row) => row.id).sort((a, b) => a - b), [firstId, secondId]);
  const status = JSON.parse(resumed.out);
  assert.equal(status.cursor, 41);
  assert.equal(status.partial, null);
  assert.equal(readJson(files.checkpoint).state.partial, null);
});

test('an item renumbered forward past the end comes back with the same key and its new number', async () => {
  const c = new st.Client(sim.clientOptions(3));
  const store = upsertStore();
  const poller = new st.Poller(c, { unsafeMinInterval: 0, gapTolerance: 3 });
  const first = [];
  await poller.sweep((r) => { first.push(r); store.put(r); });
  assert.equal(first.length, 40);
  const tenth = first.find((r) => r.sequentialOrgId === 10);
  const moved = await sim.renumber(3, tenth.item.id, 42);
  assert.deepEqual([moved.from, moved.to], [10, 42]);

  const second = [];
  await poller.sweep((r) => { second.push(r); store.put(r); });
  assert.deepEqual(second.map((r) => r.sequentialOrgId), [42]);
  assert.deepEqual(second[0].key, tenth.key, 'same item, same key');
  assert.deepEqual(second[0].key, { organization_id: 3, item_id: tenth.item.id });
  assert.equal(second[0].item.sequentialOrgId, 42);
  assert.deepEqual(poller.status().holes, [41], 'the blank before it is a hole');
  assert.equal(store.rows.size, 40, 'upserted by key: no second copy');
  assert.deepEqual(store.rows.get(JSON.stringify(tenth.key)), { seq: 42, id: tenth.item.id, writes: 2 });
  assert.equal(await c.itemBySeq(10), null);
  assert.deepEqual((await c.itemsBySeq(42)).map((i) => i.id), [tenth.item.id]);

  // Below the cursor: only the updated-items stream sees it, under the same key.
  const updated = new st.UpdatedPoller(c, { since: '2025-01-01T00:00:00Z', unsafeMinInterval: 0 });
  for await (const _ of updated.sweep()) { /* drain */ }
  const fifth = first.find((r) => r.sequentialOrgId === 5);
  await sim.renumber(3, fifth.item.id, 10);
  const third = [];
  await poller.sweep((r) => { third.push(r); });
  assert.deepEqual(third, [], 'the sequential sweep cannot see a move below its cursor');
  const changed = [];
  for await (const r of updated.sweep()) { changed.push(r); store.put(r); }
  assert.deepEqual(changed.map((r) => r.key), [fifth.key]);
  assert.deepEqual(changed[0].key, { organization_id: 3, item_id: fifth.item.id });
  assert.equal(changed[0].item.sequentialOrgId, 10);
  assert.deepEqual(changed[0].warnings, []);
  assert.equal(store.rows.size, 40);
  assert.equal(store.rows.get(JSON.stringify(fifth.key)).seq, 10);
  assert.equal(typeof updated.skip, 'undefined', 'the updated-items stream has no numbers to skip');
  await updated.close();
  await poller.close();
});

test('a corrupt form delivers the item with its raw text byte for byte, data null and a warning', async () => {
  const c = new st.Client(sim.clientOptions(4));
  const third = await c.itemBySeq(3);
  const fourth = await c.itemBySeq(4);
  const odd = '{ "field2849" :\t"caf\u00e9 \\"x\\" \u2603 \ud83d\ude00",\r\n  ';
  assert.equal((await sim.corruptForm(4, third.id, odd)).data, odd);
  const fallback = (await sim.corruptForm(4, fourth.id)).data;
  assert.equal(fallback, '{"field2849":');

  const poller = new st.Poller(c, { unsafeMinInterval: 0, expand: ['form_data'] });
  const records = [];
  const report = await poller.sweep((r) => { records.push(r); });
  assert.equal(records.length, 40, 'the sweep is not held at the corrupt form');
  assert.deepEqual(report.summary.outcome, { outcome: 'completed' });
  for (const [seq, raw] of [[3, odd], [4, fallback]]) {
    const r = records.find((x) => x.sequentialOrgId === seq);
    const entry = r.formData[0];
    assert.equal(entry.rawData, raw, 'raw text kept byte for byte');
    assert.equal(Buffer.compare(Buffer.from(entry.rawData, 'utf8'), Buffer.from(raw, 'utf8')), 0);
    assert.equal(entry.data, null);
    assert.match(entry.dataError, /not valid JSON/);
    assert.equal(r.warnings.length, 1, r.warnings.join('; '));
    assert.match(r.warnings[0], /form data/);
    assert.match(r.warnings[0], /not valid JSON/);
    assert.ok(r.warnings[0].includes(`form ${entry.formId}`) && r.warnings[0].includes(entry.id), r.warnings[0]);
    assert.ok(!r.warnings[0].includes('sim-token'));
  }
  const fine = records.find((x) => x.sequentialOrgId === 5);
  assert.deepEqual(fine.warnings, []);
  assert.equal(typeof fine.formData[0].data, 'object');
  assert.ok('field2849' in fine.formData[0].data);
  assert.equal('dataError' in fine.formData[0], false);

  const direct = await c.itemFormData(third.id);
  assert.equal(direct[0].rawData, odd);
  assert.equal(direct[0].data, null);
  assert.match(direct[0].dataError, /not valid JSON/);
  assert.equal((await c.item(third.id)).id, third.id, 'reading the item does not fail either');
  await poller.close();

  // Written back, an undecodable `data` goes out as its raw text, unchanged.
  const officer = (await c.usersTypeahead('Reyes'))[0].id;
  const created = await c.createCase({ caseNumber: 'JS-CORRUPT', caseOfficerIds: [officer], offenseTypeId: 4, active: true, formData: [{ formId: 1, data: odd }] });
  assert.equal(created.formData[0].data, null);
  assert.equal(created.formData[0].rawData, odd);
  const updated = await c.updateCase(created.id, { ...created, offenseDescription: 'round trip' });
  assert.equal(updated.offenseDescription, 'round trip');
  const reread = await c.case(created.id);
  assert.equal(reread.formData[0].rawData, odd, 'the raw text survives a read-modify-write');
  assert.equal(reread.formData[0].data, null);
  assert.equal('dataError' in (reread.formData[0]), true);
});

test('skip steps over a permanently undecodable item and is recorded', async () => {
  const client = new st.Client(sim.clientOptions(5));
  const { saved, checkpoint } = mapCheckpoint();
  await sim.fault({ kind: 'status', status: 200, body: '{"id":"not-a-number"}', path_contains: 'seqOrgID/7' });
  try {
    const failing = new st.Poller(client, { unsafeMinInterval: 0, checkpoint });
    const seen = [];
    await assert.rejects(failing.sweep((r) => { seen.push(r.sequentialOrgId); }), st.DecodeError);
    assert.deepEqual(seen, range(1, 6));
    await assert.rejects(failing.sweep(() => {}), st.DecodeError);
    let stuck = failing.status().stuck;
    assert.equal(stuck.seq, 7);
    assert.equal(stuck.code, 13);
    assert.equal(stuck.name, 'Decode');
    assert.match(stuck.message, /not-a-number|does not match/);
    assert.equal(stuck.sweeps, 2);
    assert.equal(typeof stuck.since, 'string');
    assert.equal(failing.status().cursor, 7);
    await failing.close();

    // An operator, later, in another poller over the same checkpoint.
    const events = [];
    const poller = new st.Poller(client, { unsafeMinInterval: 0, checkpoint, onEvent: (e) => events.push(e) });
    await poller.open();
    stuck = poller.status().stuck;
    assert.equal(stuck?.seq, 7, 'the stuck number is in the checkpoint');
    const other = await poller.skip(9, 'not this one').catch((e) => e);
    assert.ok(other instanceof st.ValidationError, String(other));
    assert.equal(other.field, 'seq');
    const blank = await poller.skip(7, '   ').catch((e) => e);
    assert.ok(blank instanceof st.ValidationError && blank.field === 'reason', String(blank));
    const notNumber = await poller.skip('7', 'x').catch((e) => e);
    assert.ok(notNumber instanceof st.ValidationError && notNumber.field === 'seq', String(notNumber));
    assert.equal(poller.status().cursor, 7, 'refused skips change nothing');

    const reason = 'item 7 cannot be decoded; ticket 4711';
    const skipped = await poller.skip(7, reason);
    assert.equal(skipped.seq, 7);
    assert.equal(skipped.reason, reason);
    assert.ok(!Number.isNaN(Date.parse(skipped.at)));
    assert.equal(skipped.error, stuck.message, 'the failure it was stuck with is kept');
    const status = poller.status();
    assert.equal(status.cursor, 8);
    assert.equal(status.stuck, null);
    assert.deepEqual(status.skipped, [skipped]);
    const persisted = JSON.parse([...saved.values()][0]);
    assert.equal(persisted.cursor, 8, 'saved through the callback checkpoint');
    assert.deepEqual(persisted.skipped, [skipped]);
    await until(() => events.length > 0);
    assert.deepEqual(events, [{ event: 'skipped', seq: 7, reason }]);

    const rest = [];
    for await (const r of poller.sweep()) {
      if (rest.length === 0) {
        await assert.rejects(poller.skip(r.sequentialOrgId, 'during a sweep'), st.CheckpointError);
      }
      rest.push(r.sequentialOrgId);
    }
    assert.deepEqual(rest, range(8, 40), 'the next sweep continues to the blank');
    assert.deepEqual(poller.lastReport().summary.outcome, { outcome: 'completed' });
    assert.equal(poller.status().cursor, 41);
    assert.deepEqual(poller.status().skipped.map((s) => s.seq), [7]);
    await poller.close();
  } finally {
    await sim.clearFaults();
  }
});

test('conformance: seq_answers end to end through itemsBySeq and itemBySeq', async () => {
  const c = new st.Client(sim.clientOptions(6));
  try {
    for (const [i, v] of vectors.seq_answers.entries()) {
      const n = 900 + i;
      const what = `${JSON.stringify(v.body)} (HTTP ${v.status})`;
      await sim.clearFaults();
      await sim.fault({ kind: 'status', status: v.status, body: v.body, path_contains: `seqOrgID/${n}` });
      if (v.error) {
        await assert.rejects(c.itemsBySeq(n), st.DecodeError, what);
        await assert.rejects(c.itemBySeq(n), st.DecodeError, what);
        continue;
      }
      const items = await c.itemsBySeq(n);
      if (v.blank) {
        assert.deepEqual(items, [], what);
        assert.equal(await c.itemBySeq(n), null, what);
        continue;
      }
      assert.deepEqual(items.map((item) => item.id ?? null), v.ids, what);
      if (v.sequential_org_id !== undefined) assert.equal(items[0].sequentialOrgId, v.sequential_org_id, what);
      if (v.ids.length === 1) {
        assert.equal((await c.itemBySeq(n)).id, v.ids[0], what);
      } else {
        const err = await c.itemBySeq(n).catch((e) => e);
        assert.ok(err instanceof st.DuplicateNumberError, `${what}: ${err}`);
        assert.equal(err.seq, n);
        assert.deepEqual(err.ids, v.ids.filter((id) => id !== null), what);
      }
    }
  } finally {
    await sim.clearFaults();
  }
});

test('conformance: form_data vectors, decoded here and end to end, never throw', async () => {
  for (const v of vectors.form_data) {
    const entry = st.decodeFormData({ formId: 1, data: v.data });
    assert.deepEqual(entry.data, v.fields, JSON.stringify(v));
    assert.equal(entry.rawData, v.data);
    assert.equal('dataError' in entry, Boolean(v.error), JSON.stringify(v));
  }
  const c = new st.Client(sim.clientOptions(6));
  const item = await c.itemBySeq(1);
  for (const v of vectors.form_data) {
    await sim.corruptForm(6, item.id, v.data);
    const [entry] = await c.itemFormData(item.id);
    assert.deepEqual(entry.data, v.fields, JSON.stringify(v));
    assert.equal(entry.rawData, v.data);
    assert.equal(typeof entry.dataError === 'string', Boolean(v.error), JSON.stringify(v));
  }
});

test('conformance: events and record keys have the vectors\' shapes in a real sweep', async () => {
  const shape = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? 'array' : typeof v]).sort());
  const c = new st.Client(sim.clientOptions(7));
  const dup = await sim.duplicate(7, 20);
  await sim.hide(7, 3);
  const live = [];
  const poller = new st.Poller(c, { unsafeMinInterval: 0, gapTolerance: 2, onEvent: (e) => live.push(e) });
  const reported = [];
  const records = [];
  reported.push(...(await poller.sweep((r) => { records.push(r); })).events);
  await sim.show(7, 3);
  reported.push(...(await poller.sweep((r) => { records.push(r); })).events);
  await poller.skip(poller.status().cursor, 'conformance: a real skip');
  await until(() => live.some((e) => e.event === 'skipped'));
  assert.ok(reported.some((e) => e.event === 'duplicate_number' && e.seq === 20 && e.ids.join() === [...dup.ids].sort((a, b) => a - b).join()));
  for (const want of vectors.events.cases) {
    const got = [...reported, ...live].find((e) => e.event === want.event);
    assert.ok(got, `a real ${want.event} event`);
    assert.deepEqual(shape(got), shape(want), want.event);
  }
  assert.deepEqual(records.filter((r) => r.late).map((r) => r.sequentialOrgId), [3]);
  const itemKey = vectors.record_keys.cases.find((k) => 'item_id' in k.key);
  for (const r of records) {
    assert.deepEqual(r.key, { organization_id: 7, item_id: r.item.id });
    assert.deepEqual(shape(r.key), shape(itemKey.key));
  }
  await poller.close();

  // Both key forms, from records the poller really delivered.
  const c8 = new st.Client(sim.clientOptions(8));
  const p8 = new st.Poller(c8, { unsafeMinInterval: 0 });
  for await (const _ of p8.sweep()) { /* to the end */ }
  try {
    const cases = vectors.record_keys.cases;
    for (const [i, k] of cases.entries()) {
      await sim.fault({ kind: 'status', status: 200, body: JSON.stringify({ ...k.item, sequentialOrgId: 41 + i }), path_contains: `seqOrgID/${41 + i}` });
    }
    const got = [];
    for await (const r of p8.sweep()) got.push(r);
    assert.equal(got.length, cases.length);
    for (const [i, k] of cases.entries()) {
      const r = got[i];
      const want = 'item_id' in k.key ? { organization_id: 8, item_id: k.key.item_id } : { organization_id: 8, sequential_org_id: 41 + i };
      assert.deepEqual(r.key, want);
      assert.equal(r.sequentialOrgId, 41 + i);
      if ('item_id' in k.key) assert.deepEqual(r.warnings, []);
      else assert.ok(r.warnings.some((w) => /id/.test(w)), `an item without an id is delivered with a warning: ${r.warnings}`);
    }
  } finally {
    await sim.clearFaults();
    await p8.close();
  }
});

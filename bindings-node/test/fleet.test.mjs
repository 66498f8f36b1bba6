// Fleet against a simulator with several organisations: every record of every tenant once,
// a restart delivers nothing again, a handler that throws stops only its tenant (its record
// comes again after a restart), a reload starts an added tenant, bad options are refused.
// Waits are bounded only to fail instead of hanging.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as st from '../lib/index.mjs';
import { startSimulator } from './helpers.mjs';

const ITEMS = 40;
let sim;
before(async () => { sim = await startSimulator(); });
after(() => { sim.stop(); rmSync(dir, { recursive: true, force: true }); });
const dir = mkdtempSync(path.join(tmpdir(), 'safe-node-fleet-'));
let n = 0;

function tenantsFile(orgs, file = path.join(dir, `tenants-${++n}.toml`)) {
  const entries = orgs.map((org) => {
    writeFileSync(path.join(dir, `org${org}.token`), `sim-token-org${org}\n`);
    return `[[tenant]]\nname = "org${org}"\nbase_url = "${sim.baseUrl}"\norganization_id = ${org}\n`
      + `office_id = ${org * 100 + 1}\ntoken_file = "org${org}.token"\nunsafe_min_interval = 0\n`
      + 'interval = 1\njitter = 0\nrequests_per_second = 0\n';
  });
  writeFileSync(file, entries.join('\n'));
  return file;
}

const key = (tenant, record) => `${tenant}/${record.item.id}`;

/** Runs `fleet` with `loops` concurrent run loops until `done(seen)` holds (bounded). */
async function collect(fleet, done, { loops = 2, handler } = {}) {
  const seen = new Map();
  const timer = setTimeout(() => fleet.stop(), 60_000);
  const handle = async (tenant, record) => {
    if (handler) await handler(tenant, record);
    const k = key(tenant, record);
    seen.set(k, (seen.get(k) ?? 0) + 1);
    if (done(seen)) fleet.stop();
  };
  await Promise.all(Array.from({ length: loops }, () => fleet.run(handle)));
  clearTimeout(timer);
  return seen;
}

test('every record of every tenant once; a restart delivers nothing again', async () => {
  const file = tenantsFile([1, 2, 3]);
  const db = new st.SqliteCheckpoint(path.join(dir, 'once.db'));
  const fleet = new st.Fleet(file, { checkpoint: db, maxRequestsPerSecond: 10_000 });
  const seen = await collect(fleet, (s) => s.size >= 3 * ITEMS);
  assert.equal(seen.size, 3 * ITEMS);
  assert.deepEqual(new Set(seen.values()), new Set([1]));
  assert.deepEqual(new Set([...seen.keys()].map((k) => k.split('/')[0])), new Set(['org1', 'org2', 'org3']));
  await fleet.close();

  const again = new st.Fleet(file, { checkpoint: db, maxRequestsPerSecond: 10_000 });
  const late = [];
  setTimeout(() => again.stop(), 2500);
  await again.run((tenant, record) => { late.push(key(tenant, record)); });
  assert.deepEqual(late, [], 'nothing delivered again');
  const states = again.states();
  assert.deepEqual(states.map((s) => s.name).sort(), ['org1', 'org2', 'org3']);
  for (const s of states) {
    assert.equal(s.cursor, ITEMS + 1, s.name);
    assert.equal(s.phase, 'running', s.name);
    assert.ok(!JSON.stringify(s).includes('sim-token'));
  }
  await again.close();
});

test('a handler that throws stops its tenant alone; its record comes again after a restart', async () => {
  const file = tenantsFile([4, 5]);
  const db = new st.SqliteCheckpoint(path.join(dir, 'fail.db'));
  const fleet = new st.Fleet(file, { checkpoint: db, maxRequestsPerSecond: 10_000 });
  let failed = null;
  const acked = new Set();
  const timer = setTimeout(() => fleet.stop(), 60_000);
  const warnings = [];
  const onWarning = (w) => warnings.push(w.message);
  process.on('warning', onWarning);
  await fleet.run((tenant, record) => {
    if (tenant === 'org5' && failed === null) {
      failed = key(tenant, record);
      throw new Error('the RMS database is down');
    }
    acked.add(key(tenant, record));
    if (acked.size >= ITEMS && failed !== null) fleet.stop();
  });
  clearTimeout(timer);
  assert.ok(failed, 'org5 delivered');
  assert.deepEqual(new Set([...acked].map((k) => k.split('/')[0])), new Set(['org4']));
  let org5;
  for (let i = 0; i < 1500; i++) {
    org5 = fleet.states().find((s) => s.name === 'org5');
    if (org5.phase === 'failed') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(org5.phase, 'failed');
  assert.equal(org5.last_error.name, 'Consumer');
  assert.notEqual(fleet.states().find((s) => s.name === 'org4').phase, 'failed');
  await fleet.close();
  process.off('warning', onWarning);
  assert.ok(warnings.some((w) => w.includes('tenant org5') && w.includes('RMS database is down')), warnings.join('\n'));

  const again = new st.Fleet(file, { checkpoint: db, maxRequestsPerSecond: 10_000 });
  const redelivered = await collect(again, (s) => s.size >= ITEMS, { loops: 1 });
  assert.ok(redelivered.has(failed), 'the failed record came again');
  assert.deepEqual(new Set([...redelivered.keys()].map((k) => k.split('/')[0])), new Set(['org5']));
  assert.deepEqual(new Set(redelivered.values()), new Set([1]));
  await again.close();
});

test('a reload starts an added tenant; an invalid file changes nothing', async () => {
  const file = tenantsFile([6]);
  const fleet = new st.Fleet(file, { maxRequestsPerSecond: 10_000 });
  const seen = new Map();
  const timer = setTimeout(() => fleet.stop(), 60_000);
  const running = fleet.run((tenant, record) => { const k = key(tenant, record); seen.set(k, (seen.get(k) ?? 0) + 1); });
  const of = (tenant) => [...seen.keys()].filter((k) => k.startsWith(`${tenant}/`)).length;
  const until = async (cond) => { while (!cond()) await new Promise((r) => setTimeout(r, 20)); };
  await until(() => of('org6') >= ITEMS);
  writeFileSync(file, '[[tenant]]\nname = 3\n');
  await assert.rejects(fleet.reload(), (err) => err instanceof st.InvalidConfigError && /tenant #1/.test(err.message));
  assert.equal(fleet.states().length, 1);
  tenantsFile([6, 7], file);
  assert.deepEqual(await fleet.reload(), { started: ['org7'], stopped: [], restarted: [] });
  await until(() => of('org7') >= ITEMS);
  fleet.stop();
  await running;
  clearTimeout(timer);
  assert.equal(of('org6'), ITEMS);
  assert.equal(of('org7'), ITEMS);
  assert.deepEqual(new Set(seen.values()), new Set([1]));
  await fleet.close();
});

test('options and files are checked', async () => {
  const file = tenantsFile([1]);
  assert.throws(() => new st.Fleet(file, { checkpoint: new st.CallbackCheckpoint({ load: async () => null, save: async () => {} }) }),
    (err) => err instanceof st.InvalidConfigError && /one store/.test(err.message));
  assert.throws(() => new st.Fleet(file, { checkpoint: new st.FileCheckpoint(path.join(dir, 'c.json')) }),
    (err) => err instanceof st.InvalidConfigError && /a fleet's checkpoint is/.test(err.message));
  assert.throws(() => new st.Fleet(file, { maxRequests: 3 }), /unknown fleet option `maxRequests`/);
  const bad = path.join(dir, 'bad.toml');
  writeFileSync(bad, '[[tenant]]\nname = "x"\norganization_id = "one"\n');
  assert.throws(() => new st.Fleet(bad), (err) => err instanceof st.InvalidConfigError && /`organization_id`/.test(err.message));
  const fleet = new st.Fleet(file);
  await fleet.close();
  assert.throws(() => fleet.states(), /closed/);
  await fleet.close();
});

test('a handler that throws a value that cannot be shown fails its tenant and nothing escapes', async () => {
  const file = tenantsFile([8]);
  const fleet = new st.Fleet(file, { maxRequestsPerSecond: 10_000 });
  const running = fleet.run(() => { throw Symbol('not an Error'); });
  let org8;
  for (let i = 0; i < 1500; i++) {
    org8 = fleet.states()[0];
    if (org8.phase === 'failed') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  fleet.stop();
  await running; // resolves: the throw never escaped the loop
  assert.equal(org8.phase, 'failed');
  assert.equal(org8.last_error.name, 'Consumer');
  await fleet.close();
});

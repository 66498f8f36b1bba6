import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, CancelledError } from '../lib/index.mjs';
import { startSimulator } from './helpers.mjs';

let sim;
before(async () => { sim = await startSimulator(); });
after(() => sim.stop());

test('items, expansions and search', async () => {
  const c = new Client(sim.clientOptions(1));
  const item = await c.itemBySeq(1);
  assert.equal(item.sequentialOrgId, 1);
  assert.deepEqual(await c.item(item.id), item);
  assert.equal(await c.itemBySeq(10_000), null);
  const forms = await c.itemFormData(item.id);
  assert.equal(forms[0].formName, 'Drug Form Sys Template');
  assert.equal(typeof forms[0].data, 'object');
  assert.ok('field6199' in forms[0].data);
  assert.ok(forms[0].rawData.includes('field2849'));
  assert.equal((await c.chainOfCustody(item.id))[0].itemId, item.id);
  const kase = await c.case(item.primaryCaseId);
  assert.equal(kase.caseNumber, item.primaryCaseNumber);
  assert.equal((await c.caseByNumber(kase.caseNumber)).id, kase.id);
  assert.equal((await c.casePeople(item.primaryCaseId)).length, 2);
  const page = await c.itemsAfterSeq(37);
  assert.deepEqual(page.entities.map((i) => i.sequentialOrgId), [38, 39, 40]);
  await sim.admin('orgs/1/items/3/touch', {});
  const changed = await c.updatedItems(new Date('2025-01-01T00:00:00Z'));
  assert.ok(changed.entities.some((i) => i.sequentialOrgId === 3));
  assert.ok(c.requestsSent >= 10);
  const { inspect } = await import('node:util');
  assert.ok(!inspect(c, { depth: 5, showHidden: true }).includes('sim-token'), 'no token in inspect()');
  const conc = await Promise.all(Array.from({ length: 20 }, (_, i) => c.itemBySeq(i + 1)));
  assert.deepEqual(conc.map((i) => i.sequentialOrgId), Array.from({ length: 20 }, (_, i) => i + 1));
});

test('cases, people, users, lookups, forms', async () => {
  const c = new Client(sim.clientOptions(1));
  const officer = (await c.usersTypeahead('Reyes'))[0].id;
  const created = await c.createCase({ caseNumber: 'JS-1', caseOfficerIds: [officer], offenseTypeId: 4, active: true });
  assert.ok(created.id);
  const updated = await c.updateCase(created.id, { ...created, offenseDescription: 'changed' });
  assert.equal(updated.offenseDescription, 'changed');
  const person = await c.createPerson({ person: { firstName: 'Node', lastName: 'Js', raceId: 1, genderId: 1, active: true, email: 'node.js@example.org' }, address: { addressTypeId: 1, line1: '1 Main' } });
  assert.ok(person.id);
  assert.equal((await c.person(person.id)).lastName, 'Js');
  assert.equal((await c.updatePerson(person.id, { ...person, alias: 'N' })).alias, 'N');
  assert.equal(await c.emailInUse('node.js@example.org'), true);
  assert.deepEqual((await c.peopleTypeahead('Js')).map((h) => h.id), [person.id]);
  const user = await c.createUser({ firstName: 'No', lastName: 'De', email: 'no.de@example.org', organizationId: 1, officeId: 101, active: true });
  assert.equal((await c.user(user.id)).email, 'no.de@example.org');
  assert.equal((await c.updateUser(user.id, { ...user, mobilePhone: '1' })).mobilePhone, '1');
  assert.equal((await c.lookup('races')).length, 8);
  for (const name of ['genders', 'address_types', 'states', 'person_types', 'offense_types', 'categories']) {
    assert.ok((await c.lookup(name)).length > 0, name);
  }
  assert.equal((await c.forms('Items')).length, 1);
});

test('AbortSignal cancels a call and the event loop stays free', async () => {
  await sim.fault({ kind: 'slow_headers', latency_ms: 3000, count: 1 });
  const c = new Client(sim.clientOptions(1));
  const controller = new AbortController();
  let ticks = 0;
  const timer = setInterval(() => { ticks += 1; }, 5);
  const pending = c.itemBySeq(1, { signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  await assert.rejects(pending, CancelledError);
  clearInterval(timer);
  assert.ok(ticks > 5, 'the event loop kept running during the call');
  await assert.rejects(c.itemBySeq(1, { signal: controller.signal }), CancelledError);
  assert.ok(await c.itemBySeq(2));
});

test('fromEnv and the user agent', async () => {
  process.env.SAFE_BASE_URL = sim.baseUrl;
  process.env.SAFE_TOKEN = 'sim-token-org1';
  process.env.SAFE_ORGANIZATION_ID = '1';
  process.env.SAFE_OFFICE_ID = '101';
  const c = Client.fromEnv({ requestsPerSecond: 0 });
  const cfg = await c.config();
  assert.match(cfg.user_agent, /\(node\)$/);
  assert.equal(cfg.requests_per_second, null);
  assert.ok(await c.itemBySeq(1));
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as st from '../lib/index.mjs';
import { startSimulator, vectors } from './helpers.mjs';

let sim;
before(async () => { sim = await startSimulator(); });
after(() => sim.stop());

async function expectError(cls, promiseOrFn) {
  let err;
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${cls.name}`);
  assert.equal(err.constructor, cls, `${err?.constructor?.name}: ${err?.message}`);
  assert.ok(err instanceof st.SafeError && err instanceof Error);
  assert.equal(err.code, cls.code);
  assert.ok(!String(err.message).includes('sim-token'));
  return err;
}

test('the error table is the core\'s', () => {
  for (const { code, name } of vectors.error_codes) {
    assert.equal(st.errorsByCode.get(code).name, `${name}Error`);
    assert.equal(st[`${name}Error`], st.errorsByCode.get(code), `ESM export ${name}Error`);
    assert.equal(st.errorsByCode.get(code).code, code);
  }
  assert.equal(st.errorsByCode.size, vectors.error_codes.length);
});

test('DuplicateNumberError: itemBySeq on a number held by two items, with seq and ids', async () => {
  const dup = await sim.duplicate(1, 6);
  const c = new st.Client(sim.clientOptions(1));
  const err = await expectError(st.DuplicateNumberError, c.itemBySeq(6));
  assert.equal(err.code, 32);
  assert.equal(st.errorsByCode.get(32), st.DuplicateNumberError);
  assert.equal(err.seq, 6);
  assert.deepEqual(err.ids, [...dup.ids].sort((a, b) => a - b));
  assert.match(err.message, /itemsBySeq/);
  assert.equal(err.status, null);
  assert.equal((await c.itemsBySeq(6)).length, 2);
  assert.equal('seq' in new st.DecodeError('x'), false, 'only DuplicateNumberError has seq and ids');
});

test('every error class', async () => {
  const base = (org = 1, extra = {}) => new st.Client(sim.clientOptions(org, extra));
  await expectError(st.InvalidConfigError, () => new st.Client({ baseUrl: 'http://safe.example.org/api/', token: 't', organizationId: 1, officeId: 1 }));
  const v = await expectError(st.ValidationError, base().createCase({ caseOfficerIds: [1], offenseTypeId: 4, active: true }));
  assert.equal(v.field, 'caseNumber');
  const port = await new Promise((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
  await expectError(st.TransportError, new st.Client({ baseUrl: `http://127.0.0.1:${port}/api/`, token: 'x', organizationId: 1, officeId: 1, requestsPerSecond: 0, backoffBaseMs: 1, maxAttempts: 2 }).itemBySeq(1));
  await sim.fault({ kind: 'slow_headers', latency_ms: 1500 });
  await expectError(st.TimeoutError, base(1, { attemptTimeoutMs: 150, maxAttempts: 1 }).itemBySeq(1));
  await sim.clearFaults();
  await sim.fault({ kind: 'oversize', size: 2000000 });
  await expectError(st.ResponseTooLargeError, base(1, { maxBodyBytes: 1000000 }).itemBySeq(1));
  await sim.clearFaults();
  await sim.fault({ kind: 'malformed', count: 1 });
  const d = await expectError(st.DecodeError, base().itemBySeq(1));
  assert.equal(d.path, 'items/seqOrgID/{n}');
  const a = await expectError(st.AuthError, new st.Client({ ...sim.clientOptions(1), token: 'wrong' }).itemBySeq(1));
  assert.equal(a.status, 401);
  await expectError(st.AccountDisabledError, new st.Client({ ...sim.clientOptions(1), token: 'sim-token-org1-disabled' }).itemBySeq(1));
  await expectError(st.LicenseUnavailableError, new st.Client({ ...sim.clientOptions(1), token: 'sim-token-org1-nolicence' }).itemBySeq(1));
  await sim.fault({ kind: 'status', status: 429, retry_after: '3600', count: 1 });
  const r = await expectError(st.RateLimitedError, base().itemBySeq(1));
  assert.equal(r.retryAfter, 3600);
  const budget = base(1, { budgetPerMinute: 1 });
  await budget.itemBySeq(1);
  await expectError(st.BudgetExhaustedError, budget.itemBySeq(2));
  await expectError(st.NotFoundError, base().item(1));
  const officer = (await base().usersTypeahead('Okafor'))[0].id;
  const kase = { caseNumber: 'DUP-JS', caseOfficerIds: [officer], offenseTypeId: 4, active: true };
  await base().createCase(kase);
  await expectError(st.ConflictError, base().createCase(kase));
  await sim.fault({ kind: 'status', status: 503 });
  const s = await expectError(st.ServerError, base().itemBySeq(1));
  assert.equal(s.status, 503);
  await sim.clearFaults();
  const c2 = base(2);
  const first = new st.Poller(c2, { unsafeMinInterval: 0 });
  await expectError(st.CheckpointError, () => new st.Poller(c2, { unsafeMinInterval: 0 }));
  const p = new st.Poller(base(3), { unsafeMinInterval: 0 });
  await expectError(st.CancelledError, p.sweep(() => p.cancel()));
  const consumer = await expectError(st.ConsumerError, new st.Poller(base(4), { unsafeMinInterval: 0 }).sweep(() => { throw new Error('disk full'); }));
  assert.match(consumer.message, /disk full/);
  assert.ok(first);
});

// runForever is the core's driver: after each sweep the core decides (go on, back off, park,
// stop, cancelled); the JS loop only waits and sweeps as it is told.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as st from '../lib/index.mjs';
import { startSimulator } from './helpers.mjs';

let sim;
before(async () => { sim = await startSimulator(); });
after(() => sim.stop());

test('the native decisions are the core\'s', async () => {
  const poller = new st.Poller(new st.Client(sim.clientOptions(1)), { unsafeMinInterval: 0 });
  await poller.open();
  const decide = (code) => poller._native.decide(code);
  assert.equal(await decide(undefined), 'continue');
  assert.equal(await decide(new st.ServerError('x').code), 'back_off');
  assert.equal(await decide(new st.RateLimitedError('x').code), 'back_off');
  assert.equal(await decide(new st.LicenseUnavailableError('x').code), 'stop');
  assert.equal(await decide(new st.CheckpointError('x').code), 'stop');
  assert.equal(await decide(new st.CancelledError('x').code), 'cancelled');
  await poller.close();
});

test('runForever sweeps again after a transient failure and stops on an account error', async () => {
  const poller = new st.Poller(new st.Client(sim.clientOptions(2)), { unsafeMinInterval: 0, interval: 0.05, jitter: 0 });
  // One failed sweep: three attempts at the first number.
  await sim.fault({ kind: 'status', status: 500, path_contains: 'seqOrgID/1', count: 3 });
  const got = [];
  await assert.rejects(poller.runForever(async (r) => {
    got.push(r.sequentialOrgId);
    if (got.length === 40) await sim.fault({ kind: 'no_licence' });
  }), st.LicenseUnavailableError);
  assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => i + 1), 'the failed sweep was retried');
  await poller.close();
});

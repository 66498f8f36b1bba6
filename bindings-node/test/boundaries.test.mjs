// The edges of the addon's boundary (issue 15): a panic inside it, a rate that is no time, an
// AbortSignal that fires before the call's task has run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as st from '../lib/index.mjs';
import { startSimulator } from './helpers.mjs';

const native = createRequire(import.meta.url)('../native.js');

let sim;
before(async () => { sim = await startSimulator(); });
after(() => sim.stop());

const SEQ = '/api/items/seqOrgID/{n}';

function panicError(err, place) {
  const e = st.fromNative(err);
  assert.ok(e instanceof st.PanicError && e instanceof st.SafeError, `${e?.constructor?.name}: ${e?.message}`);
  assert.equal(e.code, 91, 'the C ABI\'s SAFE_PANIC');
  assert.equal(st.PanicError.code, 91);
  assert.match(e.message, new RegExp(`^internal error \\(panic\\): panic probe: ${place}$`));
  return true;
}

test('a panic inside the addon is a PanicError, and the process goes on', async () => {
  assert.equal(typeof native.panicProbeSync, 'function',
    'this test needs the addon built with its test-only panic probes: `npm run build:test` (what `make node-test` runs)');
  // A synchronous entry point, the body of an async one, a task it spawns, a call's task.
  assert.throws(() => native.panicProbeSync(), (err) => panicError(err, 'sync'));
  await assert.rejects(native.panicProbeAsync('body'), (err) => panicError(err, 'body'));
  await assert.rejects(native.panicProbeAsync('task'), (err) => panicError(err, 'task'));
  await assert.rejects(native.panicProbeAsync('call'), (err) => panicError(err, 'call'));
  // A callback into JS: the event that could not be made arrives as a PanicError's details.
  const text = await new Promise((resolve) => native.panicProbeEvent(resolve));
  assert.ok(text.startsWith('SAFE_ERROR:'), text);
  panicError(new Error(text), 'event');
  // PanicError is outside the core's table, like SAFE_PANIC.
  assert.equal(st.errorsByCode.get(91), undefined);
  // Still alive, and the addon still answers.
  const c = new st.Client(sim.clientOptions(1));
  assert.equal((await c.itemBySeq(1)).sequentialOrgId, 1);
});

test('a rate that is no time is an InvalidConfigError, not a crash', async () => {
  // 1e-300 once reached Duration::from_secs_f64(1e300) and aborted the process; NaN and
  // Infinity were sent as null (the default rate) without a word.
  for (const rate of [1e-300, 5e-324, 1e-9, -1, NaN, Infinity, -Infinity]) {
    for (const make of [(o) => new st.Client(o), (o) => st.Client.fromEnv(o)]) {
      assert.throws(() => make(sim.clientOptions(1, { requestsPerSecond: rate })), (err) => {
        assert.equal(err.constructor, st.InvalidConfigError, `${rate}: ${err?.constructor?.name}: ${err?.message}`);
        assert.match(err.message, /requests_?[pP]er_?[sS]econd/, String(rate));
        return true;
      });
    }
  }
  // Other numbers that become times: a timeout of a billion years, an interval past ten years.
  assert.throws(() => new st.Client(sim.clientOptions(1, { callTimeoutMs: Number.MAX_SAFE_INTEGER })), st.InvalidConfigError);
  assert.throws(() => new st.Client(sim.clientOptions(1, { attemptTimeoutMs: Infinity })), st.InvalidConfigError);
  const c = new st.Client(sim.clientOptions(1));
  assert.throws(() => new st.Poller(c, { interval: 1e15 }), (err) => err instanceof st.InvalidConfigError && /interval/.test(err.message));
  assert.throws(() => new st.Poller(c, { jitter: NaN }), st.InvalidConfigError);
  // The slowest meaningful rate (one request a day) is accepted.
  assert.ok(new st.Client(sim.clientOptions(1, { requestsPerSecond: 1 / 86400 })));
});

test('an already-aborted signal rejects at once, without a request', async () => {
  const c = new st.Client(sim.clientOptions(1));
  await sim.resetStats();
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(c.itemBySeq(1, { signal: controller.signal }), st.CancelledError);
  await assert.rejects(c.itemsBySeq(1, { signal: controller.signal }), st.CancelledError);
  assert.equal(c.requestsSent, 0, 'the addon was not called');
  assert.equal(await sim.count(SEQ), 0, 'the simulator saw no request');
});

test('an abort in the same tick as the call cancels it, even before its task has run', async () => {
  // The simulator holds every request it receives for 3 s: a call whose abort was lost would
  // resolve with its item after that, instead of rejecting with CancelledError. Each abort
  // below comes right after the call started, in the same tick, before the addon's worker
  // thread has (usually) polled the call's task: it used to register the call's id only
  // then, so such an abort found no call and was dropped.
  await sim.clearFaults();
  await sim.fault({ kind: 'slow_headers', latency_ms: 3000 });
  const c = new st.Client(sim.clientOptions(1, { maxAttempts: 1 }));
  try {
    const calls = [];
    for (let i = 1; i <= 20; i++) {
      const controller = new AbortController();
      const call = i % 2 ? c.itemBySeq(i, { signal: controller.signal }) : c.itemsBySeq(i, { signal: controller.signal });
      controller.abort();
      calls.push(call);
    }
    const settled = await Promise.allSettled(calls);
    settled.forEach((s, i) => {
      assert.equal(s.status, 'rejected', `call ${i + 1} completed: its abort was lost`);
      assert.ok(s.reason instanceof st.CancelledError, `call ${i + 1}: ${s.reason?.constructor?.name}: ${s.reason?.message}`);
    });
  } finally {
    await sim.clearFaults();
  }
  // The client goes on.
  assert.equal((await c.itemBySeq(2)).sequentialOrgId, 2);
});

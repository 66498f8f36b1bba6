// The shared fault matrix (tests/conformance/vectors.json) through the Node binding.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as st from '../lib/index.mjs';
import { startSimulator, vectors } from './helpers.mjs';

let sim;
before(async () => { sim = await startSimulator(); });
after(() => sim.stop());
const ITEMS = 40;
const SEQ = '/api/items/seqOrgID/{n}';

test('fault matrix: typed errors, request counts, checkpoint never past an undelivered item', async () => {
  const { client: cfg, cases } = vectors.fault_matrix;
  const client = new st.Client(sim.clientOptions(2, {
    maxAttempts: cfg.max_attempts, attemptTimeoutMs: cfg.attempt_timeout_ms, backoffBaseMs: cfg.base_delay_ms,
    backoffMaxMs: cfg.max_delay_ms, retryAfterCapMs: cfg.retry_after_cap_ms, maxBodyBytes: cfg.max_body_bytes,
  }));
  let checkpoint = 0;
  for (const c of cases) {
    await sim.clearFaults();
    await sim.fault({ ...c.rule, path_contains: 'seqOrgID/5' });
    await sim.resetStats();
    // A fresh memory checkpoint per case; each poller is released before the next opens.
    checkpoint += 1;
    const store = new Map();
    const poller = new st.Poller(client, {
      unsafeMinInterval: 0,
      checkpoint: new st.CallbackCheckpoint({ load: async (k) => store.get(k) ?? null, save: async (k, s) => { store.set(k, s); } }),
    });
    const seen = [];
    let outcome = 'ok';
    try {
      await poller.sweep((r) => { seen.push(r.sequentialOrgId); });
    } catch (err) {
      assert.ok(err instanceof st.SafeError, `${c.name}: ${err}`);
      outcome = err.constructor.name.replace(/Error$/, '');
    }
    assert.equal(outcome, c.expect, c.name);
    const requests = (await sim.count(SEQ)) - (outcome === 'ok' ? ITEMS : 4);
    assert.equal(requests, c.requests, `${c.name}: requests`);
    if (outcome === 'ok') {
      assert.equal(seen.length, ITEMS, c.name);
    } else {
      assert.deepEqual(seen, [1, 2, 3, 4], c.name);
      assert.equal(poller.status().cursor, 5, c.name);
      assert.equal(JSON.parse([...store.values()][0]).cursor, 5, `${c.name}: saved checkpoint`);
    }
    await poller.close();
  }
  assert.ok(checkpoint > 0);
});

// PostgresCheckpoint against a real PostgreSQL server (a throw-away cluster,
// safe-test-postgres) and the simulator: one owner per unit (a second is refused, naming the
// holder), the next owner resumes the checkpoint once the lease ran out, the password never
// shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { inspect } from 'node:util';
import * as st from '../lib/index.mjs';
import { startSimulator, targetBinary } from './helpers.mjs';

let sim;
let pg;
let url;
before(async () => {
  sim = await startSimulator();
  pg = spawn(targetBinary('safe-test-postgres', 'SAFE_TEST_POSTGRES_BIN'), [], { stdio: ['pipe', 'pipe', 'inherit'] });
  url = (await createInterface({ input: pg.stdout })[Symbol.asyncIterator]().next()).value.trim();
  assert.match(url, /^postgres:\/\//);
});
after(async () => {
  sim.stop();
  const exited = new Promise((r) => pg.once('exit', r));
  pg.stdin.end(); // the cluster stops and is removed
  await exited;
});

test('one owner per unit; the next owner resumes the checkpoint once the lease ran out', async () => {
  let first = new st.Poller(new st.Client(sim.clientOptions(3)), {
    checkpoint: new st.PostgresCheckpoint(url, 'org3', { owner: 'worker-a', leaseTtl: 1 }), unsafeMinInterval: 0,
  });
  assert.throws(() => new st.Poller(new st.Client(sim.clientOptions(3)), {
    checkpoint: new st.PostgresCheckpoint(url, 'org3', { owner: 'worker-b' }), unsafeMinInterval: 0,
  }), (err) => err instanceof st.FencedError && /worker-a/.test(err.message));
  const report = await first.sweep(() => {});
  assert.equal(report.summary.items, 40);
  await first.close();
  // The unit is held while the poller lives; once it is collected, its lease is given up.
  first = null;
  const second = await (async () => {
    for (let i = 0; i < 200; i++) {
      try {
        return new st.Poller(new st.Client(sim.clientOptions(3)), {
          checkpoint: new st.PostgresCheckpoint(url, 'org3', { owner: 'worker-b' }), unsafeMinInterval: 0,
        });
      } catch (err) {
        if (!(err instanceof st.FencedError)) throw err;
        if (global.gc) global.gc();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('the unit never became free');
  })();
  assert.equal(second.status().cursor, 41, 'resumed from PostgreSQL');
  await second.close();
});

test('the password never shows', () => {
  const cp = new st.PostgresCheckpoint('postgres://rms:hunter2-secret@127.0.0.1:1/safe?sslmode=disable', 'org4');
  assert.ok(!inspect(cp).includes('hunter2-secret'), inspect(cp));
  assert.ok(!String(cp).includes('hunter2-secret'), String(cp));
  assert.throws(() => new st.Poller(new st.Client(sim.clientOptions(4)), { checkpoint: cp }), (err) => {
    assert.ok(!err.message.includes('hunter2-secret'), err.message);
    assert.match(err.message, /rms@127\.0\.0\.1:1\/safe/);
    return err instanceof st.SafeError;
  });
});

// A checkpoint save that blocks never stalls the addon's other calls: while the SQLite store's
// save waits for a write lock a helper process holds, an unrelated call on the same client
// completes, and only then is the lock released. Causal, not timed: were the save run on the
// addon's one worker thread, the call could not complete until the save gave up (its busy
// timeout), and the sweep would then fail instead of delivering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import * as st from '../lib/index.mjs';
import { startSimulator } from './helpers.mjs';

let sim;
const dir = mkdtempSync(path.join(tmpdir(), 'safe-node-saves-'));
before(async () => { sim = await startSimulator(); });
after(() => { sim.stop(); rmSync(dir, { recursive: true, force: true }); });

/** Holds SQLite's write lock on `db` (a Python child process) until `release()`. */
async function holdWriteLock(db) {
  const code = [
    'import sqlite3, sys',
    'c = sqlite3.connect(sys.argv[1], isolation_level=None)',
    "c.execute('BEGIN EXCLUSIVE')",
    "print('locked', flush=True)",
    'sys.stdin.readline()',
    "c.execute('COMMIT')",
  ].join('\n');
  const proc = spawn('python3', ['-c', code, db], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const [first] = await once(lines, 'line');
  assert.equal(first, 'locked');
  return async () => { proc.stdin.end('\n'); await once(proc, 'exit'); };
}

test('an unrelated call completes while a checkpoint save is blocked', async () => {
  const client = new st.Client(sim.clientOptions(1));
  const db = path.join(dir, 'cp.db');
  const poller = new st.Poller(client, { checkpoint: new st.SqliteCheckpoint(db), unsafeMinInterval: 0 });
  await poller.open();
  const release = await holdWriteLock(db);
  let delivered = 0;
  // The sweep's first save (its start) waits for the lock. The pause only gives the sweep the
  // time to get there before the other call is made (so a save on the worker thread would be
  // caught); nothing below depends on how long anything takes.
  const sweep = poller.sweep(() => { delivered += 1; });
  sweep.catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 300));
  let genders;
  try {
    genders = await client.lookup('genders');
  } finally {
    await release();
  }
  assert.ok(genders.length > 0, 'the other call completed while the lock was held');
  const report = await sweep;
  assert.equal(report.summary.items, 40, 'the blocked save went through once released');
  assert.equal(delivered, 40);
  await poller.close();
});

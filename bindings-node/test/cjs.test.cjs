// The CommonJS entry exposes the same classes as the ESM entry.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const cjs = require('../lib/index.js');

test('instanceof across CommonJS and ESM', async () => {
  const esm = await import('../lib/index.mjs');
  assert.equal(cjs.NotFoundError, esm.NotFoundError);
  const err = cjs.fromNative(new Error('SAFE_ERROR:{"code":30,"name":"NotFound","message":"not found","status":404,"path":"items/{id}","retry_after":null,"field":null}'));
  assert.ok(err instanceof esm.NotFoundError);
  assert.ok(err instanceof esm.SafeError);
  assert.ok(err instanceof cjs.SafeError);
  assert.equal(err.status, 404);
  assert.equal(err.path, 'items/{id}');
  assert.equal(cjs.DuplicateNumberError, esm.DuplicateNumberError);
  const dup = cjs.fromNative(new Error('SAFE_ERROR:{"code":32,"name":"DuplicateNumber","message":"sequential org id 9 is held by 2 items (ids [4, 5]): use items_by_seq to read them all","status":null,"path":null,"retry_after":null,"field":null,"seq":9,"ids":[4,5]}'));
  assert.ok(dup instanceof esm.DuplicateNumberError && dup instanceof cjs.SafeError);
  assert.equal(dup.seq, 9);
  assert.deepEqual(dup.ids, [4, 5]);
  assert.match(dup.message, /use itemsBySeq to read them all/);
});

test('the README shows the type-checked example as written', () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const example = fs.readFileSync(path.join(__dirname, '..', 'examples', 'readme.mts'), 'utf8');
  assert.ok(readme.includes(example.trim()), 'README.md must contain bindings-node/examples/readme.mts');
});

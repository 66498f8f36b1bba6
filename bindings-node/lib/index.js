'use strict';
// safe-tracker for Node.js: Client, Poller, UpdatedPoller, Fleet, checkpoints and errors over the
// native addon. Every behaviour lives in the Rust core; this file maps names, types, errors,
// AbortSignal and async iteration.

const native = require('../native.js');
const errors = require('./errors.js');
const { decodeFormData, withForms } = require('./forms.js');
const { itemRecord, updatedRecord } = require('./records.js');

const { fromNative, fromInfo, CancelledError, CheckpointError, SafeError } = errors;

const MS_KEYS = {
  connectTimeoutMs: 'connect_timeout_ms',
  attemptTimeoutMs: 'attempt_timeout_ms',
  callTimeoutMs: 'call_timeout_ms',
  backoffBaseMs: 'base_delay_ms',
  backoffMaxMs: 'max_delay_ms',
  retryAfterCapMs: 'retry_after_cap_ms',
};

function snake(key) {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function configJson(options, fromEnv) {
  const config = { host_language: 'node' };
  if (fromEnv) config.from_env = true;
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value === undefined || value === null) continue;
    // JSON has no NaN or Infinity: JSON.stringify would send null, the default, without a
    // word. The core refuses the other numbers that are not meaningful (a rate of 1e-300).
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new errors.InvalidConfigError(`${key} must be a finite number, not ${value}`);
    }
    config[MS_KEYS[key] ?? snake(key)] = value;
  }
  return JSON.stringify(config);
}

/** Calls a synchronous method of the addon; its failures (a caught panic included) become
 * SafeErrors. */
function sync(fn) {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

let nextCallId = 1;

// `call` spawns the native task and registers it under its id before it returns, so an abort
// at any moment before the answer cancels it: even one in the same tick, before the task has
// run (it then never sends its request). An already-aborted signal rejects at once, as fetch
// does, without calling the addon.
async function invoke(nativeClient, method, args, signal) {
  if (signal?.aborted) throw new CancelledError('cancelled');
  const callId = nextCallId++ % 0x7fffffff;
  const onAbort = () => sync(() => native.abort(callId));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return JSON.parse(await nativeClient.call(method, JSON.stringify(args), callId));
  } catch (err) {
    throw fromNative(err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** A SAFE client. Every endpoint returns a Promise; `{ signal }` cancels a call. */
class Client {
  constructor(options = {}) {
    try {
      this._native = new native.NativeClient(configJson(options, false));
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** Reads SAFE_BASE_URL, SAFE_TOKEN, SAFE_ORGANIZATION_ID, SAFE_OFFICE_ID (options override). */
  static fromEnv(options = {}) {
    const client = Object.create(Client.prototype);
    try {
      client._native = new native.NativeClient(configJson(options, true));
    } catch (err) {
      throw fromNative(err);
    }
    return client;
  }

  get requestsSent() {
    return sync(() => this._native.requestsSent());
  }

  async config() {
    return invoke(this._native, 'config', {});
  }

  /** The item holding number `seq`, or null. A number held by several items rejects with
   * DuplicateNumberError (its `seq` and `ids`): read those with itemsBySeq. */
  itemBySeq(seq, opts = {}) { return invoke(this._native, 'item_by_seq', { seq }, opts.signal).then((v) => (v ? withForms(v) : null)); }
  /** Every item holding number `seq`, ascending id (items without an id last); [] for a blank. */
  async itemsBySeq(seq, opts = {}) { return (await invoke(this._native, 'items_by_seq', { seq }, opts.signal)).map(withForms); }
  item(id, opts = {}) { return invoke(this._native, 'item', { id }, opts.signal).then(withForms); }
  async itemFormData(id, opts = {}) { return (await invoke(this._native, 'item_form_data', { id }, opts.signal)).map(decodeFormData); }
  chainOfCustody(id, opts = {}) { return invoke(this._native, 'chain_of_custody', { id }, opts.signal); }
  itemsAfterSeq(seq, opts = {}) { return invoke(this._native, 'items_after_seq', { seq, page_size: opts.pageSize ?? 100 }, opts.signal); }
  updatedItems(since, opts = {}) {
    const iso = since instanceof Date ? since.toISOString() : since;
    return invoke(this._native, 'updated_items', { since: iso, page: opts.page ?? 1, page_size: opts.pageSize ?? 100 }, opts.signal);
  }
  case(id, opts = {}) { return invoke(this._native, 'case', { id }, opts.signal).then(withForms); }
  caseByNumber(number, opts = {}) { return invoke(this._native, 'case_by_number', { number }, opts.signal).then(withForms); }
  casePeople(id, opts = {}) { return invoke(this._native, 'case_people', { id }, opts.signal); }
  createCase(c, opts = {}) { return invoke(this._native, 'create_case', { case: encodeForms(c) }, opts.signal).then(withForms); }
  updateCase(id, c, opts = {}) { return invoke(this._native, 'update_case', { id, case: encodeForms(c) }, opts.signal).then(withForms); }
  person(id, opts = {}) { return invoke(this._native, 'person', { id }, opts.signal); }
  createPerson(p, opts = {}) { return invoke(this._native, 'create_person', { person: p }, opts.signal); }
  updatePerson(id, p, opts = {}) { return invoke(this._native, 'update_person', { id, person: p }, opts.signal); }
  peopleTypeahead(search, opts = {}) { return invoke(this._native, 'people_typeahead', { search }, opts.signal); }
  emailInUse(email, opts = {}) { return invoke(this._native, 'email_in_use', { email }, opts.signal); }
  user(id, opts = {}) { return invoke(this._native, 'user', { id }, opts.signal); }
  createUser(u, opts = {}) { return invoke(this._native, 'create_user', { user: u }, opts.signal); }
  updateUser(id, u, opts = {}) { return invoke(this._native, 'update_user', { id, user: u }, opts.signal); }
  usersTypeahead(search, opts = {}) { return invoke(this._native, 'users_typeahead', { search }, opts.signal); }
  lookup(name, opts = {}) { return invoke(this._native, 'lookup', { name }, opts.signal); }
  forms(formType = 'All', opts = {}) { return invoke(this._native, 'forms', { form_type: formType }, opts.signal); }
}

/** Form data decoded by this package is written back as its raw string (or re-encoded); an
 * entry whose `data` did not decode (null) is written back as its raw text, unchanged. */
function encodeForms(model) {
  if (!model || !Array.isArray(model.formData)) return model;
  return {
    ...model,
    formData: model.formData.map((e) => {
      if (typeof e.data === 'string') return e;
      const { rawData, dataError: _reason, ...rest } = e;
      if (e.data === null && typeof rawData === 'string') return { ...rest, data: rawData };
      return { ...rest, data: sameFields(rawData, e.data) ? rawData : JSON.stringify(e.data ?? {}) };
    }),
  };
}

function sameFields(raw, data) {
  if (typeof raw !== 'string' || raw.trim() === '') return false;
  try {
    return JSON.stringify(JSON.parse(raw)) === JSON.stringify(data ?? {});
  } catch {
    return false;
  }
}

class MemoryCheckpoint { spec() { return { kind: 'memory' }; } }
class FileCheckpoint { constructor(path) { this.path = String(path); } spec() { return { kind: 'file', path: this.path }; } }
class SqliteCheckpoint { constructor(path) { this.path = String(path); } spec() { return { kind: 'sqlite', path: this.path }; } }
/** Checkpoints in PostgreSQL held through a lease on `unit` (say a tenant's name), so one
 * process at a time polls it, across machines. Opening a poller on it claims the lease
 * (FencedError names the holder when another process has it); the lease is renewed every third
 * of `leaseTtl` seconds; once another process has taken the unit over, saves and requests
 * fail with FencedError (no SAFE request goes out once the lease may have lapsed). The password
 * comes from `url`, PGPASSWORD or PGPASSFILE, and is never shown. */
class PostgresCheckpoint {
  constructor(url, unit, { owner, leaseTtl } = {}) {
    if (typeof url !== 'string' || typeof unit !== 'string' || unit === '') {
      throw new errors.InvalidConfigError('PostgresCheckpoint(url, unit): both are non-empty strings');
    }
    Object.defineProperty(this, 'url', { value: url, enumerable: false });
    this.unit = unit;
    this.owner = owner ?? null;
    this.leaseTtl = leaseTtl ?? 30;
  }
  spec() { return { kind: 'postgres', url: this.url, unit: this.unit, owner: this.owner, lease_ttl: this.leaseTtl }; }
  toString() { return `PostgresCheckpoint(${this.url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}, ${this.unit})`; }
}
/** Your own store: async `load(key)` → saved JSON or null, async `save(key, json)`. */
class CallbackCheckpoint {
  constructor({ load, save }) { this.load = load; this.save = save; }
  spec() { return { kind: 'host' }; }
}

function pollerOptionsJson(o) {
  const map = {
    startSeq: 'start_seq', gapTolerance: 'gap_tolerance', holeMaxAge: 'hole_max_age', readAhead: 'read_ahead',
    expand: 'expand', interval: 'interval', jitter: 'jitter', unsafeMinInterval: 'unsafe_min_interval',
    stallAfterSweeps: 'stall_after_sweeps', jumpStalls: 'jump_stalls', since: 'since', overlap: 'overlap', pageSize: 'page_size',
  };
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'checkpoint' || k === 'onEvent' || v === undefined || v === null) continue;
    if (!(k in map)) throw new errors.InvalidConfigError(`unknown poller option \`${k}\``);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new errors.InvalidConfigError(`${k} must be a finite number, not ${v}`);
    out[map[k]] = v instanceof Date ? v.toISOString() : v;
  }
  return JSON.stringify(out);
}

/** The addon's event callback for `listener`: each event's JSON, parsed. An event the addon
 * could not make arrives as `SAFE_ERROR:` and a PanicError's details: a warning, never a call
 * of the listener. */
function eventHandler(listener) {
  return (json) => {
    if (json.startsWith('SAFE_ERROR:')) {
      process.emitWarning(`safe-tracker: a poller event was lost: ${fromNative(new Error(json)).message}`);
      return;
    }
    try {
      listener(JSON.parse(json));
    } catch (err) {
      process.emitWarning(`safe-tracker: the onEvent listener threw: ${err?.message ?? err}`);
    }
  };
}

class PollerBase {
  constructor(client, kind, options, decode) {
    this._client = client;
    this._kind = kind;
    this._checkpoint = options.checkpoint ?? new MemoryCheckpoint();
    this._options = pollerOptionsJson(options);
    this._decode = decode;
    this._onEvent = options.onEvent ?? null;
    if (this._onEvent !== null && typeof this._onEvent !== 'function') {
      throw new errors.InvalidConfigError('onEvent must be a function');
    }
    this._native = null;
    if (!(this._checkpoint instanceof CallbackCheckpoint)) this._open(null);
  }

  _open(state) {
    const spec = { ...this._checkpoint.spec() };
    if (spec.kind === 'host') spec.state = state;
    try {
      this._native = new native.NativePoller(this._client._native, this._kind, JSON.stringify(spec), this._options);
    } catch (err) {
      throw fromNative(err);
    }
    if (this._onEvent) {
      const listener = this._onEvent;
      // Called on the event loop, after the fact; a throwing listener cannot reach the addon.
      sync(() => this._native.onEvent(eventHandler(listener)));
    }
  }

  /** Opens the poller (needed once before status() with a CallbackCheckpoint). */
  async open() {
    if (this._native) return this;
    const key = sync(() => this._client._native.pollerKey(this._kind));
    let saved;
    try {
      saved = await this._checkpoint.load(key);
    } catch (err) {
      throw new CheckpointError(`load callback failed: ${err?.message ?? err}`);
    }
    this._open(saved ?? null);
    return this;
  }

  async _persist() {
    if (!(this._checkpoint instanceof CallbackCheckpoint) || !this._native) return;
    const key = sync(() => this._native.key());
    const state = sync(() => this._native.state());
    try {
      await this._checkpoint.save(key, state);
    } catch (err) {
      throw new CheckpointError(`save callback failed: ${err?.message ?? err}`);
    }
  }

  _require() {
    if (!this._native) throw new CheckpointError('call `await poller.open()` first: the checkpoint is loaded by a callback');
    return this._native;
  }

  status() { return JSON.parse(sync(() => this._require().status())); }
  plan() { return JSON.parse(sync(() => this._require().plan())); }
  lastReport() { const r = sync(() => this._require().lastReport()); return r === null ? null : JSON.parse(r); }
  cancel() { if (this._native) sync(() => this._native.cancel()); this._cancelled = true; }

  /** Cancels any sweep and releases the one-poller lock now (another poller may then open
   * the same checkpoint). */
  async close() { if (this._native) await this._native.close(); }

  /** Without a handler: an async iterable of records (each acknowledged when the next is
   * asked for). With a handler (possibly async): runs one sweep and resolves to its report. */
  sweep(handler) {
    if (handler) return this._sweepWith(handler);
    return this._iterate();
  }

  /** The records of one sweep. `sweep.ticket` is set to the core's ticket of it: a newer
   * sweep of this poller supersedes it (its calls are then refused), so two loops can never
   * acknowledge each other's records, and a late clean-up of an abandoned loop ends nothing. */
  async *_iterate(sweep = {}) {
    await this.open();
    const n = this._native;
    const ticket = (sweep.ticket = await n.begin());
    let finished = false;
    try {
      for (;;) {
        let raw;
        try {
          raw = await n.next(ticket);
        } catch (err) {
          await this._persist();
          throw fromNative(err);
        }
        await this._persist();
        if (raw === null) {
          finished = true;
          return;
        }
        yield this._decode(JSON.parse(raw));
      }
    } finally {
      if (!finished) {
        await n.end(ticket);
        await this._persist();
      }
    }
  }

  async _sweepWith(handler) {
    const sweep = {};
    for await (const record of this._iterate(sweep)) {
      try {
        await handler(record);
      } catch (err) {
        const info = JSON.parse(await this._native.fail(sweep.ticket, `${err?.name ?? 'Error'}: ${err?.message ?? err}`));
        await this._persist();
        const e = fromInfo(info);
        e.cause = err;
        throw e;
      }
    }
    return this.lastReport();
  }

  /** Sweeps on the schedule until cancel(); account, checkpoint and consumer errors reject,
   * transient ones wait for the next sweep. */
  async runForever(handler) {
    await this.open();
    for (;;) {
      try {
        await this._native.waitScheduled();
      } catch (err) {
        const e = fromNative(err);
        if (e instanceof CancelledError) return;
        throw e;
      }
      // The schedule and every rule after a sweep are the core's (its poller driver).
      try {
        await this._sweepWith(handler);
      } catch (err) {
        if (!(err instanceof SafeError)) throw err;
        const decision = await this._native.decide(err.code);
        if (decision === 'cancelled') return;
        if (decision === 'stop' || decision === 'fenced') throw err;
        continue;
      }
      await this._native.decide(undefined);
    }
  }
}

/** The throttled sequential poller. Durations in seconds. */
class Poller extends PollerBase {
  constructor(client, options = {}) { super(client, 'items', options, itemRecord); }

  /** Steps over number `seq` for good (an item that can never be decoded, say), between
   * sweeps: allowed for the cursor, an open hole, or the number the poller is stuck at
   * (`status().stuck`); rejects with ValidationError otherwise (field `seq`, or `reason` when
   * the reason is empty), and with CheckpointError while a sweep runs. Resolves to the skip
   * recorded in the checkpoint (`status().skipped`). */
  async skip(seq, reason) {
    if (!Number.isSafeInteger(seq) || seq < 0) {
      throw new errors.ValidationError(`seq must be a sequential org id (a non-negative integer), not ${String(seq)}`, { field: 'seq' });
    }
    if (typeof reason !== 'string') {
      throw new errors.ValidationError('reason must be a string: say why the number is skipped', { field: 'reason' });
    }
    await this.open();
    let raw;
    try {
      raw = await this._native.skip(seq, reason);
    } catch (err) {
      throw fromNative(err);
    }
    await this._persist();
    return JSON.parse(raw);
  }
}

/** Follows items changed since a watermark. */
class UpdatedPoller extends PollerBase {
  constructor(client, options = {}) { super(client, 'updated', options, updatedRecord); }
}

const FLEET_KEYS = {
  checkpoint: null, maxRequestsPerSecond: 'max_requests_per_second', parkRetry: 'park_retry',
  allowInsecureHttp: 'allow_insecure_http', states: 'states', pollIntervalMs: null,
};

/** `Name: message` of whatever a handler threw (a Symbol, an object without a prototype, a
 * getter that throws), never itself a throw. */
function thrownReason(err) {
  try {
    return `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`;
  } catch {
    try { return Object.prototype.toString.call(err); } catch { return 'a value that cannot be shown'; }
  }
}

/** Every agency of a tenants file (the TOML of `safe-tracker serve --tenants`) polled from one
 * process by the core's fleet runner: sweep starts spread over the interval, one request cap
 * for the whole fleet, auth and licence errors parking only their tenant. `run(handler)` hands
 * each record to `handler(tenant, record)` on the event loop, in order per tenant and stream;
 * its checkpoint moves when the handler resolves. A handler that throws stops that tenant
 * (the record stays unacknowledged; `states()` says why) until its entry changes (`reload()`)
 * or the fleet restarts. Delivery is at least once: upsert by `record.key`. */
class Fleet {
  constructor(tenantsFile, options = {}) {
    for (const [k, v] of Object.entries(options)) {
      if (!(k in FLEET_KEYS)) throw new errors.InvalidConfigError(`unknown fleet option \`${k}\``);
      if (typeof v === 'number' && !Number.isFinite(v)) throw new errors.InvalidConfigError(`${k} must be a finite number, not ${v}`);
    }
    const checkpoint = options.checkpoint ?? new MemoryCheckpoint();
    if (checkpoint instanceof CallbackCheckpoint || typeof checkpoint.spec !== 'function') {
      throw new errors.InvalidConfigError('a fleet keeps every tenant\'s checkpoint in one store: SqliteCheckpoint or MemoryCheckpoint');
    }
    const spec = { tenants_file: String(tenantsFile), checkpoint: checkpoint.spec() };
    for (const [k, key] of Object.entries(FLEET_KEYS)) {
      if (key !== null && options[k] !== undefined && options[k] !== null) spec[key] = options[k];
    }
    const poll = options.pollIntervalMs ?? 500;
    if (!Number.isInteger(poll) || poll < 1 || poll > 60_000) {
      throw new errors.InvalidConfigError(`pollIntervalMs must be an integer from 1 to 60000, not ${poll}`);
    }
    this._poll = poll;
    this._native = sync(() => new native.NativeFleet(JSON.stringify(spec)));
  }

  /** Hands every record to `handler(tenant, record)` (possibly async) until `stop()`;
   * acknowledges it when the handler resolves. Several `run` loops may share the fleet. */
  async run(handler) {
    if (typeof handler !== 'function') throw new TypeError('run(handler): handler must be a function');
    const n = this._native;
    for (;;) {
      let got;
      try {
        got = await n.next(this._poll);
      } catch (err) {
        const e = fromNative(err);
        if (e instanceof CancelledError) return;
        throw e;
      }
      if (got === null) continue;
      let record;
      try {
        const raw = JSON.parse(got.record);
        record = got.kind === 'updated' ? updatedRecord(raw) : itemRecord(raw);
        await handler(got.tenant, record);
      } catch (err) {
        const reason = thrownReason(err);
        try { n.fail(got.id, reason); } catch { /* stopped meanwhile: unacknowledged either way */ }
        process.emitWarning(`safe-tracker: tenant ${got.tenant}: the handler threw, the tenant stops: ${reason}`);
        continue;
      }
      try { n.ack(got.id); } catch { /* its tenant stopped meanwhile: the record comes again */ }
    }
  }

  /** Every tenant's state (phase, cursor, lag, last error), those that need attention first. */
  states() { return JSON.parse(sync(() => this._native.states())); }

  /** Re-reads the tenants file: added tenants start, removed ones stop after their current
   * record, changed ones restart. Resolves to `{started, stopped, restarted}`; an invalid file
   * rejects and the running set goes on. */
  async reload() {
    try {
      return JSON.parse(await this._native.reload());
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** Makes every `run` resolve after its current record. */
  stop() { sync(() => this._native.stop()); }

  /** Stops every tenant and closes the checkpoint store (records out come again after a
   * restart). */
  async close() {
    try {
      await this._native.close();
    } catch (err) {
      throw fromNative(err);
    }
  }
}

module.exports = {
  decodeFormData,
  Client,
  Poller,
  UpdatedPoller,
  Fleet,
  MemoryCheckpoint,
  FileCheckpoint,
  SqliteCheckpoint,
  PostgresCheckpoint,
  CallbackCheckpoint,
  ...errors,
};

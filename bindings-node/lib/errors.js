'use strict';
// SafeError and one subclass per stable error code of the core. The addon rejects with an
// Error whose message is `SAFE_ERROR:{json}`; fromNative turns it into the matching class.

const native = require('../native.js');

class SafeError extends Error {
  constructor(message, details = {}) {
    super(message);
    this.name = new.target.name;
    this.code = new.target.code;
    this.status = details.status ?? null;
    this.path = details.path ?? null;
    this.retryAfter = details.retryAfter ?? null;
    this.field = details.field ?? null;
  }
}
SafeError.code = 0;

// [code, name, class] of every core code, generated from the core's table (`make codegen`).
const definitions = require('./error-codes.js');

/** Several items hold the number asked for with `itemBySeq`: read them all with
 * `itemsBySeq`. `seq` is the number, `ids` the ids of its items (ascending). */
class DuplicateNumberError extends SafeError {
  constructor(message, details = {}) {
    // The core names its own method; this package's is itemsBySeq.
    super(String(message).replace(/\bitems_by_seq\b/g, 'itemsBySeq'), details);
    this.seq = details.seq ?? null;
    this.ids = Array.isArray(details.ids) ? [...details.ids] : [];
  }
}

/** A panic inside the native addon, caught at its boundary instead of aborting the process:
 * a bug of this package (please report it, with the message). Code 91, the C ABI's
 * `SAFE_PANIC`: like it, outside the core's table (and `errorsByCode`). The call failed; the
 * process and the other calls go on. */
class PanicError extends SafeError {}
PanicError.code = 91;

// The bindings' own codes (90-99), outside the core's table.
const bindingCodes = new Map([[PanicError.code, PanicError]]);

// Classes with fields of their own; the others are plain subclasses.
const special = { DuplicateNumberError };

const classes = {};
const byCode = new Map();
for (const [code, coreName] of definitions) {
  const name = `${coreName}Error`;
  const cls = special[name] ?? { [name]: class extends SafeError {} }[name];
  cls.code = code;
  classes[name] = cls;
  byCode.set(code, cls);
}

// The table must be the core's: fail loudly at load time if they ever drift.
for (const [code, name] of native.errorCodes()) {
  const cls = byCode.get(code);
  if (!cls || cls.name !== `${name}Error`) {
    throw new Error(`safe-tracker: error table drift at code ${code} (${name})`);
  }
}

const PREFIX = 'SAFE_ERROR:';

/** Turns an addon rejection into a SafeError subclass (other errors pass through). */
function fromNative(err) {
  if (err instanceof SafeError) return err;
  const message = err && typeof err.message === 'string' ? err.message : '';
  const at = message.indexOf(PREFIX);
  if (at < 0) return err;
  let info;
  try {
    info = JSON.parse(message.slice(at + PREFIX.length));
  } catch {
    return err;
  }
  return fromInfo(info);
}

function fromInfo(info) {
  const cls = byCode.get(info.code) ?? bindingCodes.get(info.code) ?? SafeError;
  return new cls(info.message, {
    status: info.status,
    path: info.path,
    retryAfter: info.retry_after,
    field: info.field,
    seq: info.seq,
    ids: info.ids,
  });
}

module.exports = { SafeError, ...classes, PanicError, errorsByCode: byCode, fromNative, fromInfo };

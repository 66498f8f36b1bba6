// ESM entry: the same classes as the CommonJS entry, so `instanceof` works across both.
import cjs from './index.js';

export * from './error-classes.mjs';
export const {
  decodeFormData, Client, Poller, UpdatedPoller, Fleet, MemoryCheckpoint, FileCheckpoint, SqliteCheckpoint, PostgresCheckpoint, CallbackCheckpoint,
  SafeError, PanicError, errorsByCode, fromNative,
} = cjs;
export default cjs;

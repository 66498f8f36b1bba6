// ESM entry: the same classes as the CommonJS entry, so `instanceof` works across both.
import cjs from './index.js';

export const {
  decodeFormData, Client, Poller, UpdatedPoller, MemoryCheckpoint, FileCheckpoint, SqliteCheckpoint, CallbackCheckpoint,
  SafeError, InvalidConfigError, ValidationError, TransportError, TimeoutError, ResponseTooLargeError,
  DecodeError, AuthError, AccountDisabledError, LicenseUnavailableError, RateLimitedError,
  BudgetExhaustedError, NotFoundError, ConflictError, DuplicateNumberError, ServerError, CheckpointError, CancelledError,
  ConsumerError, errorsByCode, fromNative,
} = cjs;
export default cjs;

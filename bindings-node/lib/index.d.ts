// Types of the safe-tracker package. Models are the wire's plain objects (camelCase);
// form data comes decoded in `data` with the raw string in `rawData` (a `data` that does not
// decode is kept raw: `data` null, `dataError` says why).

export interface ClientOptions {
  baseUrl?: string;
  token?: string;
  organizationId?: number;
  officeId?: number;
  staticToken?: boolean;
  connectTimeoutMs?: number;
  attemptTimeoutMs?: number;
  callTimeoutMs?: number;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  retryAfterCapMs?: number;
  /** Requests per second, at least 1/86400 (one a day); 0 disables pacing (loopback simulator
   * only). A slower, negative or non-finite rate throws InvalidConfigError. */
  requestsPerSecond?: number;
  burst?: number;
  /** Widens the request spacing by this fraction (default 0.02) so jitter cannot put one
   * request too many into a 1-second window. */
  pacingSafetyMargin?: number;
  budgetPerMinute?: number;
  budgetPerHour?: number;
  budgetPerDay?: number;
  proxy?: string;
  noProxy?: string;
  proxyFromEnv?: boolean;
  caFile?: string;
  routes?: Record<string, string>;
  maxBodyBytes?: number;
  updatedItemsField?: string;
  allowInsecureHttp?: boolean;
}

export interface CallOptions {
  signal?: AbortSignal;
}

// Every model (Item, Case, Person, FormDataEntry, ItemRecord, PollerStatus…) is generated from
// the core's schema (`make codegen`) into models.d.ts.
import type {
  Case, CustodyEntry, DedupeKey, Form, FormDataEntry, Item, ItemRecord, Lookup, LookupEntry, NewPerson,
  Person, PollerEvent, PollerStatus, SkippedNumber, SweepPlan, SweepSummary, TenantState, TypeaheadEntry, UpdatedRecord,
  User, WireFormDataEntry, WireItem,
} from './models.js';
export * from './models.js';

/** One page of search results; its items' form data are as the server sent them. */
export interface SearchPage { entities: WireItem[]; count?: number | null; [extra: string]: unknown }

/** A case to create or update: form data decoded by this package, or `data` as a string or object. */
export type CaseInput = Omit<Case, 'formData'> & {
  formData?: Array<FormDataEntry | WireFormDataEntry | { formId: number; data: string | Record<string, unknown>; [extra: string]: unknown }> | null;
};

export type LookupName = Lookup;

export class Client {
  constructor(options?: ClientOptions);
  /** Reads SAFE_BASE_URL, SAFE_TOKEN, SAFE_ORGANIZATION_ID, SAFE_OFFICE_ID; options override. */
  static fromEnv(options?: ClientOptions): Client;
  readonly requestsSent: number;
  config(): Promise<{ base_url: string; organization_id: number; office_id: number; user_agent: string; requests_per_second: number | null; max_attempts: number }>;
  /** The item holding number `seq`, or null for a blank answer. A number held by several
   * items rejects with {@link DuplicateNumberError} (never drops one): use `itemsBySeq`. */
  itemBySeq(seq: number, opts?: CallOptions): Promise<Item | null>;
  /** Every item holding number `seq`, ascending `id` (items without an id last); `[]` for a
   * blank answer. */
  itemsBySeq(seq: number, opts?: CallOptions): Promise<Item[]>;
  item(id: number, opts?: CallOptions): Promise<Item>;
  itemFormData(id: number, opts?: CallOptions): Promise<FormDataEntry[]>;
  chainOfCustody(id: number, opts?: CallOptions): Promise<CustodyEntry[]>;
  itemsAfterSeq(seq: number, opts?: CallOptions & { pageSize?: number }): Promise<SearchPage>;
  updatedItems(since: string | Date, opts?: CallOptions & { page?: number; pageSize?: number }): Promise<SearchPage>;
  case(id: number, opts?: CallOptions): Promise<Case>;
  caseByNumber(number: string, opts?: CallOptions): Promise<Case>;
  casePeople(id: number, opts?: CallOptions): Promise<Person[]>;
  createCase(c: CaseInput, opts?: CallOptions): Promise<Case>;
  updateCase(id: number, c: CaseInput, opts?: CallOptions): Promise<Case>;
  person(id: number, opts?: CallOptions): Promise<Person>;
  createPerson(p: NewPerson, opts?: CallOptions): Promise<Person>;
  updatePerson(id: number, p: Person, opts?: CallOptions): Promise<Person>;
  peopleTypeahead(search: string, opts?: CallOptions): Promise<TypeaheadEntry[]>;
  emailInUse(email: string, opts?: CallOptions): Promise<boolean>;
  user(id: number, opts?: CallOptions): Promise<User>;
  createUser(u: User, opts?: CallOptions): Promise<User>;
  updateUser(id: number, u: User, opts?: CallOptions): Promise<User>;
  usersTypeahead(search: string, opts?: CallOptions): Promise<TypeaheadEntry[]>;
  lookup(name: LookupName, opts?: CallOptions): Promise<LookupEntry[]>;
  forms(formType?: 'All' | 'Cases' | 'Items' | 'People', opts?: CallOptions): Promise<Form[]>;
}

/** The identity of an item record: upsert by it. (organisation, item id) for every item with
 * an id; (organisation, number) for an item that came without one (the record then has a
 * warning). */
export type RecordKey = DedupeKey;
export type ItemKey = Extract<DedupeKey, { item_id: number }>;
export type NumberKey = Extract<DedupeKey, { sequential_org_id: number }>;

export interface Checkpoint { spec(): { kind: string; path?: string } }
export class MemoryCheckpoint implements Checkpoint { spec(): { kind: string } }
export class FileCheckpoint implements Checkpoint { constructor(path: string); readonly path: string; spec(): { kind: string; path: string } }
export class SqliteCheckpoint implements Checkpoint { constructor(path: string); readonly path: string; spec(): { kind: string; path: string } }
/** Checkpoints in PostgreSQL held through a lease on `unit`: one process at a time polls it. */
export class PostgresCheckpoint implements Checkpoint {
  constructor(url: string, unit: string, options?: { owner?: string; leaseTtl?: number });
  readonly unit: string;
  spec(): { kind: string };
}
export class CallbackCheckpoint implements Checkpoint {
  constructor(store: { load(key: string): Promise<string | null>; save(key: string, state: string): Promise<void> });
  spec(): { kind: string };
}

export type Expansion = 'form_data' | 'case' | 'people' | 'custody' | 'all';

export interface PollerOptions {
  checkpoint?: Checkpoint;
  /** Called with every event, on the event loop after the fact (a throw is only warned). */
  onEvent?: (event: PollerEvent) => void;
  startSeq?: number;
  gapTolerance?: number;
  /** Seconds. */
  holeMaxAge?: number;
  readAhead?: number;
  expand?: Expansion[] | string;
  /** Seconds between sweep starts (default 600). */
  interval?: number;
  /** Seconds of jitter (default 30). */
  jitter?: number;
  /** Lowers the 60-second floor: simulator tests only. */
  unsafeMinInterval?: number;
  stallAfterSweeps?: number;
  jumpStalls?: boolean;
}

export interface UpdatedPollerOptions {
  checkpoint?: Checkpoint;
  onEvent?: (event: PollerEvent) => void;
  since?: string | Date;
  overlap?: number;
  pageSize?: number;
  interval?: number;
  jitter?: number;
  unsafeMinInterval?: number;
}

export interface SweepReport { summary: SweepSummary; events: PollerEvent[] }

declare class PollerBase<R> {
  open(): Promise<this>;
  status(): PollerStatus;
  plan(): SweepPlan | null;
  lastReport(): SweepReport | null;
  cancel(): void;
  /** Cancels any sweep and releases the one-poller lock now. */
  close(): Promise<void>;
  sweep(): AsyncIterableIterator<R>;
  sweep(handler: (record: R) => unknown | Promise<unknown>): Promise<SweepReport | null>;
  runForever(handler: (record: R) => unknown | Promise<unknown>): Promise<void>;
}

export class Poller extends PollerBase<ItemRecord> {
  constructor(client: Client, options?: PollerOptions);
  /** Steps over number `seq` for good, between sweeps: allowed for the cursor, an open hole or
   * `status().stuck.seq`; rejects with ValidationError otherwise (field `seq`, or `reason` for
   * an empty reason) and with CheckpointError while a sweep runs. */
  skip(seq: number, reason: string): Promise<SkippedNumber>;
}

export class UpdatedPoller extends PollerBase<UpdatedRecord> {
  constructor(client: Client, options?: UpdatedPollerOptions);
}

export interface FleetOptions {
  /** Every tenant's checkpoint, in one store (default MemoryCheckpoint). A SqliteCheckpoint's
   * database is the fleet's alone while it runs. */
  checkpoint?: MemoryCheckpoint | SqliteCheckpoint;
  /** The cap across all tenants, shared round-robin (default 20). */
  maxRequestsPerSecond?: number;
  /** Seconds a tenant parked by an auth or licence error waits before it tries again
   * (default 3600). */
  parkRetry?: number;
  allowInsecureHttp?: boolean;
  /** What `states()` returned in an earlier run, so parked tenants stay parked. */
  states?: TenantState[];
  /** How often an idle `run` looks for `stop()` (default 500). */
  pollIntervalMs?: number;
}

/** What `reload()` changed. */
export interface FleetApplied { started: string[]; stopped: string[]; restarted: string[] }

/** Every agency of a tenants file polled from one process; records handed to `run`'s handler
 * on the event loop, acknowledged when it resolves. */
export class Fleet {
  constructor(tenantsFile: string, options?: FleetOptions);
  run(handler: (tenant: string, record: ItemRecord | UpdatedRecord) => unknown | Promise<unknown>): Promise<void>;
  states(): TenantState[];
  reload(): Promise<FleetApplied>;
  stop(): void;
  close(): Promise<void>;
}

export class SafeError extends Error {
  static readonly code: number;
  readonly code: number;
  readonly status: number | null;
  readonly path: string | null;
  readonly retryAfter: number | null;
  readonly field: string | null;
}
/** A panic inside the native addon, caught at its boundary instead of aborting the process (a
 * bug of this package). Code 91, the C ABI's `SAFE_PANIC`: outside the core's table and
 * `errorsByCode`. */
export class PanicError extends SafeError {}
// One class per stable error code (InvalidConfigError … ConsumerError), generated from the
// core's table (`make codegen`).
export * from './error-classes.js';
export const errorsByCode: Map<number, typeof SafeError>;
export function fromNative(err: unknown): unknown;

/** Decodes a form-data entry's `data` string into an object, keeping the raw string in `rawData`;
 * a `data` that is not a JSON object gives `data: null` and `dataError`, never a throw. */
export function decodeFormData(entry: { data?: string | null; [k: string]: unknown }): FormDataEntry;

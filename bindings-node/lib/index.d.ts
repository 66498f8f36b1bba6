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
  /** Requests per second; 0 disables pacing (loopback simulator only). */
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

export interface FormDataEntry {
  id?: string;
  active?: boolean;
  entityId?: number | string;
  formId?: number;
  formName?: string;
  dateFields?: string[] | null;
  /** Decoded fields; null when the server's `data` is not a JSON object (see `dataError`). */
  data: Record<string, unknown> | null;
  /** `data` as the server sent it (JSON in a string), byte for byte, decoded or not. */
  rawData: string;
  /** Why `data` did not decode, when it did not (the entry is kept, never refused). */
  dataError?: string;
  organizationId?: number;
  officeId?: number;
  visibilityId?: number;
  [extra: string]: unknown;
}

export interface Item {
  id?: number;
  sequentialOrgId?: number;
  sequentialCaseId?: string;
  barcode?: string;
  description?: string;
  recoveryDate?: string;
  recoveryLocation?: string;
  active?: boolean;
  locationId?: number;
  location?: string;
  statusId?: number;
  status?: string;
  categoryId?: number;
  category?: string;
  custodyReasonId?: number;
  custodyReason?: string;
  primaryCaseId?: number;
  primaryCaseNumber?: string;
  primaryCaseOfficerIds?: number[];
  primaryCaseOfficerId?: number;
  dateCreated?: string;
  updatedDate?: string;
  formData?: FormDataEntry[] | null;
  [extra: string]: unknown;
}

export interface Case {
  id?: number;
  caseNumber?: string;
  caseOfficerIds?: number[];
  caseOfficerId?: number;
  offenseTypeId?: number;
  offenseDescription?: string;
  offenseLocation?: string;
  offenseDate?: string;
  active?: boolean;
  formData?: FormDataEntry[] | Array<{ formId: number; data: string | Record<string, unknown> }> | null;
  tags?: unknown[];
  [extra: string]: unknown;
}

export interface Person {
  id?: number;
  firstName?: string;
  lastName?: string;
  businessName?: string;
  email?: string;
  raceId?: number;
  genderId?: number;
  active?: boolean;
  deceased?: boolean;
  juvenile?: boolean;
  personTypeId?: number | null;
  [extra: string]: unknown;
}

export interface NewPerson {
  person: Person;
  address?: { addressTypeId?: number; line1?: string; city?: string; zip?: string; [extra: string]: unknown };
}

export interface User {
  id?: number;
  guid?: string;
  personId?: number;
  firstName?: string;
  lastName?: string;
  email?: string;
  organizationId?: number;
  officeId?: number;
  active?: boolean;
  groups?: unknown[];
  [extra: string]: unknown;
}

export interface CustodyEntry { id?: unknown; itemId?: number; date?: string; action?: string; [extra: string]: unknown }
export interface LookupEntry { id: number; name?: string; [extra: string]: unknown }
export interface TypeaheadEntry { id: number; text: string }
export interface Form { id?: number; name?: string; schema?: string; [extra: string]: unknown }
export interface SearchPage { entities: Item[]; count?: number; [extra: string]: unknown }

export type LookupName = 'races' | 'genders' | 'address_types' | 'states' | 'person_types' | 'offense_types' | 'categories';

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
  createCase(c: Case, opts?: CallOptions): Promise<Case>;
  updateCase(id: number, c: Case, opts?: CallOptions): Promise<Case>;
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
export type ItemKey = { organization_id: number; item_id: number };
export type NumberKey = { organization_id: number; sequential_org_id: number };
export type RecordKey = ItemKey | NumberKey;

/** One delivered item. Delivery is at least once: upsert by `record.key`, not by the number
 * (several items may share one, and an item may come back later under another). */
export interface ItemRecord {
  /** Upsert by this key. */
  key: RecordKey;
  organizationId: number;
  /** The number it was delivered under. */
  sequentialOrgId: number;
  item: Item;
  formData?: FormDataEntry[];
  case?: Case;
  people?: Person[];
  custody?: CustodyEntry[];
  /** True when the item filled a hole. */
  late: boolean;
  /** What was not as it should be: expansions not found, form data whose `data` did not
   * decode (kept raw), an item without an id. */
  warnings: string[];
}

/** One changed item: upsert by `record.key`, the same row the item's ItemRecord lands in
 * (an item renumbered below the poller's cursor reaches the host only through this stream). */
export interface UpdatedRecord {
  /** Upsert by this key. */
  key: ItemKey;
  organizationId: number;
  itemId: number;
  updated: string;
  item: Item;
  warnings: string[];
}

export interface Checkpoint { spec(): { kind: string; path?: string } }
export class MemoryCheckpoint implements Checkpoint { spec(): { kind: string } }
export class FileCheckpoint implements Checkpoint { constructor(path: string); readonly path: string; spec(): { kind: string; path: string } }
export class SqliteCheckpoint implements Checkpoint { constructor(path: string); readonly path: string; spec(): { kind: string; path: string } }
export class CallbackCheckpoint implements Checkpoint {
  constructor(store: { load(key: string): Promise<string | null>; save(key: string, state: string): Promise<void> });
  spec(): { kind: string };
}

export type Expansion = 'form_data' | 'case' | 'people' | 'custody' | 'all';

/** Poller events (the `event` tag and its fields). */
export type PollerEvent =
  | { event: 'sweep_started'; cursor: number }
  | { event: 'hole_recorded' | 'hole_probed' | 'hole_filled' | 'hole_abandoned'; seq: number }
  /** One number held by several items; each is delivered as its own record. */
  | { event: 'duplicate_number'; seq: number; ids: number[] }
  /** An operator stepped over a number with `skip` (reaches `onEvent`, not a sweep report). */
  | { event: 'skipped'; seq: number; reason: string }
  | { event: 'stalled'; at: number; next_known: number; jumped: boolean }
  | { event: 'sweep_finished'; summary: SweepSummary };

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

export type SweepOutcome =
  | { outcome: 'completed' }
  | { outcome: 'failed'; code: number; message: string }
  | { outcome: 'interrupted' };

export interface SweepSummary {
  started: string;
  finished: string;
  items: number;
  requests: number;
  holes_recorded: number;
  holes_filled: number;
  holes_abandoned: number;
  /** Answers that held several items for one number. */
  duplicate_numbers: number;
  cursor_start: number;
  cursor_end: number;
  outcome: SweepOutcome;
  [k: string]: unknown;
}

export interface SweepReport { summary: SweepSummary; events: PollerEvent[] }

/** The number the last sweeps failed at, and why: `skip` it when it will never succeed. */
export interface StuckNumber { seq: number; code: number; name: string; message: string; since: string; sweeps: number }
/** A number held by several items whose delivery is under way: the ids acknowledged so far. */
export interface PartialNumber { seq: number; done: number[]; done_without_id: number }
/** A number an operator stepped over (`error`: the failure the poller was stuck with there). */
export interface SkippedNumber {
  seq: number;
  reason: string;
  at: string;
  /** The failure the poller was stuck with there, if any. */
  error?: string;
  /** The number answered blank, so it stays an open hole: re-probed, delivered late should an item appear. */
  kept_as_hole: boolean;
}

export interface PollerStatus {
  stream: string;
  /** The next number to request. */
  cursor: number;
  holes: number[];
  last_sweep_started: string | null;
  last_sweep: SweepSummary | null;
  next_allowed_sweep: string | null;
  requests_spent: number;
  stalled_next: number | null;
  watermark: string | null;
  stuck: StuckNumber | null;
  partial: PartialNumber | null;
  /** The latest skips (at most 100), oldest first. */
  skipped: SkippedNumber[];
  /** Answers that held several items for one number, over the poller's life. */
  duplicate_numbers: number;
  [k: string]: unknown;
}

declare class PollerBase<R> {
  open(): Promise<this>;
  status(): PollerStatus;
  plan(): Record<string, unknown> | null;
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

export class SafeError extends Error {
  static readonly code: number;
  readonly code: number;
  readonly status: number | null;
  readonly path: string | null;
  readonly retryAfter: number | null;
  readonly field: string | null;
}
// One class per stable error code (InvalidConfigError … ConsumerError), generated from the
// core's table (`make codegen`).
export * from './error-classes.js';
export const errorsByCode: Map<number, typeof SafeError>;
export function fromNative(err: unknown): unknown;

/** Decodes a form-data entry's `data` string into an object, keeping the raw string in `rawData`;
 * a `data` that is not a JSON object gives `data: null` and `dataError`, never a throw. */
export function decodeFormData(entry: { data?: string | null; [k: string]: unknown }): FormDataEntry;

// Types of the safe-tracker package. Models are the wire's plain objects (camelCase);
// form data comes decoded in `data` with the raw string in `rawData`.

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
  /** Decoded fields. */
  data: Record<string, unknown>;
  /** `data` as the server sent it (JSON in a string). */
  rawData: string;
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
  itemBySeq(seq: number, opts?: CallOptions): Promise<Item | null>;
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

export interface ItemRecord {
  organizationId: number;
  sequentialOrgId: number;
  item: Item;
  formData?: FormDataEntry[];
  case?: Case;
  people?: Person[];
  custody?: CustodyEntry[];
  /** True when the item filled a hole. */
  late: boolean;
  warnings: string[];
}

export interface UpdatedRecord { organizationId: number; itemId: number; updated: string; item: Item }

export interface Checkpoint { spec(): { kind: string; path?: string } }
export class MemoryCheckpoint implements Checkpoint { spec(): { kind: string } }
export class FileCheckpoint implements Checkpoint { constructor(path: string); readonly path: string; spec(): { kind: string; path: string } }
export class SqliteCheckpoint implements Checkpoint { constructor(path: string); readonly path: string; spec(): { kind: string; path: string } }
export class CallbackCheckpoint implements Checkpoint {
  constructor(store: { load(key: string): Promise<string | null>; save(key: string, state: string): Promise<void> });
  spec(): { kind: string };
}

export type Expansion = 'form_data' | 'case' | 'people' | 'custody' | 'all';

export interface PollerOptions {
  checkpoint?: Checkpoint;
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
  since?: string | Date;
  overlap?: number;
  pageSize?: number;
  interval?: number;
  jitter?: number;
  unsafeMinInterval?: number;
}

export interface SweepReport { summary: { items: number; requests: number; cursor_start: number; cursor_end: number; [k: string]: unknown }; events: Array<Record<string, unknown>> }

declare class PollerBase<R> {
  open(): Promise<this>;
  status(): Record<string, unknown> & { cursor: number; holes: number[] };
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
export class InvalidConfigError extends SafeError {}
export class ValidationError extends SafeError {}
export class TransportError extends SafeError {}
export class TimeoutError extends SafeError {}
export class ResponseTooLargeError extends SafeError {}
export class DecodeError extends SafeError {}
export class AuthError extends SafeError {}
export class AccountDisabledError extends SafeError {}
export class LicenseUnavailableError extends SafeError {}
export class RateLimitedError extends SafeError {}
export class BudgetExhaustedError extends SafeError {}
export class NotFoundError extends SafeError {}
export class ConflictError extends SafeError {}
export class ServerError extends SafeError {}
export class CheckpointError extends SafeError {}
export class CancelledError extends SafeError {}
export class ConsumerError extends SafeError {}
export const errorsByCode: Map<number, typeof SafeError>;
export function fromNative(err: unknown): unknown;

/** Decodes a form-data entry's `data` string into an object, keeping the raw string in `rawData`. */
export function decodeFormData(entry: { data?: string | null; [k: string]: unknown }): FormDataEntry;

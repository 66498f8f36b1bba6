// Compile-time checks of lib/index.d.ts (tsc --noEmit, `npm run typecheck`; never run).
import {
  Client, DuplicateNumberError, Fleet, Poller, SafeError, SqliteCheckpoint, UpdatedPoller, decodeFormData,
  type FleetApplied, type FormDataEntry, type ItemRecord, type PollerEvent, type PollerStatus, type RecordKey,
  type SkippedNumber, type SweepReport, type TenantPhase, type TenantState, type UpdatedRecord,
} from 'safe-tracker';

export function rowKey(key: RecordKey): string {
  return 'item_id' in key ? `${key.organization_id}/item/${key.item_id}` : `${key.organization_id}/seq/${key.sequential_org_id}`;
}

export async function usage(client: Client): Promise<void> {
  const items = await client.itemsBySeq(20);
  const ids: Array<number | undefined> = items.map((i) => i.id);
  try {
    await client.itemBySeq(20);
  } catch (err) {
    if (err instanceof DuplicateNumberError) {
      const seq: number = err.seq;
      const dupIds: number[] = err.ids;
      const base: SafeError = err;
      console.log(seq, dupIds, base.code, ids);
    }
  }
  const events: PollerEvent[] = [];
  const poller = new Poller(client, { onEvent: (e) => { events.push(e); } });
  const report: SweepReport | null = await poller.sweep((r: ItemRecord) => { console.log(rowKey(r.key), r.warnings.length); });
  const dups: number | undefined = report?.summary.duplicate_numbers;
  for (const e of report?.events ?? []) {
    if (e.event === 'duplicate_number') console.log(e.seq, e.ids.length);
    if (e.event === 'skipped') console.log(e.seq, e.reason.length);
  }
  const status: PollerStatus = poller.status();
  const stuckAt: number | undefined = status.stuck?.seq;
  const why: string | undefined = status.stuck?.message;
  const done: number[] | undefined = status.partial?.done;
  const skipped: SkippedNumber = await poller.skip(stuckAt ?? status.cursor, `stuck: ${why}`);
  const recorded: SkippedNumber[] = status.skipped;
  console.log(dups, done, skipped.at, recorded.length, status.duplicate_numbers);
  const updated = new UpdatedPoller(client, {});
  for await (const r of updated.sweep()) {
    const u: UpdatedRecord = r;
    const itemId: number = u.key.item_id;
    console.log(itemId, u.warnings);
  }
  // @ts-expect-error the updated-items stream has no numbers to skip
  await updated.skip(1, 'no');
  const entry: FormDataEntry = decodeFormData({ data: '{"a":' });
  const fields: Record<string, unknown> | null = entry.data;
  const reason: string | undefined = entry.dataError;
  console.log(fields?.a, reason, entry.rawData);
}

export async function fleetUsage(): Promise<void> {
  const fleet = new Fleet('tenants.toml', { checkpoint: new SqliteCheckpoint('fleet.db'), maxRequestsPerSecond: 20 });
  await fleet.run(async (tenant: string, record: ItemRecord | UpdatedRecord) => {
    console.log(tenant, record.key, record.item.id);
  });
  const states: TenantState[] = fleet.states();
  const phase: TenantPhase = states[0].phase;
  const lastError: string | undefined = states[0].last_error?.name;
  const applied: FleetApplied = await fleet.reload();
  console.log(phase, lastError, applied.started, states[0].cursor);
  // @ts-expect-error an unknown option
  new Fleet('tenants.toml', { maxRequests: 3 });
  fleet.stop();
  await fleet.close();
}

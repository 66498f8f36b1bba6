import { Client, FileCheckpoint, Poller, SafeError, type ItemRecord } from 'safe-tracker';

const client = Client.fromEnv(); // SAFE_BASE_URL, SAFE_TOKEN, SAFE_ORGANIZATION_ID, SAFE_OFFICE_ID
const poller = new Poller(client, {
  checkpoint: new FileCheckpoint('safe-checkpoint.json'),
  expand: ['form_data', 'case'],
});

async function writeToRms(record: ItemRecord): Promise<void> {
  // Upsert by record.key (organization id, item id), never by the number.
  const k = record.key;
  const row = 'item_id' in k ? `${k.organization_id}/item/${k.item_id}` : `${k.organization_id}/seq/${k.sequential_org_id}`;
  console.log(row, record.sequentialOrgId, record.item.description, record.case?.caseNumber);
}

try {
  // One sweep: n, n+1, ... until the blank answer. A throw in the body leaves that record
  // unacknowledged; the checkpoint never moves past it.
  for await (const record of poller.sweep()) {
    await writeToRms(record);
  }
  console.log(poller.status().cursor);
  // Or follow the schedule (every 10 minutes, never twice within 60 seconds):
  // await poller.runForever(writeToRms);
} catch (err) {
  if (err instanceof SafeError) console.error(err.code, err.status, err.message);
  throw err;
}

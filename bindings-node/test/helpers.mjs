// Test support: one simulator per test file (port 0), and its admin API.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A test binary of the workspace (`envVar` overrides where it is). */
export function targetBinary(name, envVar) {
  if (process.env[envVar]) return process.env[envVar];
  const target = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target');
  return path.join(target, 'x86_64-unknown-linux-gnu', 'debug', name);
}

const simulatorBinary = () => targetBinary('safe-simulator', 'SAFE_SIMULATOR_BIN');

export async function startSimulator(args = []) {
  const proc = spawn(simulatorBinary(), ['--orgs', '8', '--items', '40', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = createInterface({ input: proc.stdout });
  const it = lines[Symbol.asyncIterator]();
  const baseUrl = (await it.next()).value.trim();
  const creds = JSON.parse((await it.next()).value);
  const root = baseUrl.slice(0, -'api/'.length);
  const admin = async (p, body, method) => {
    const res = await fetch(`${root}__admin/${p}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  };
  // The admin routes of issue 13 fail loudly: a test must not go on after a refused change.
  const adminOk = async (p, body, method) => {
    const res = await fetch(`${root}__admin/${p}`, {
      method: method ?? 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`admin ${p}: HTTP ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const query = (id) => (id === undefined ? '' : `?id=${id}`);
  return {
    baseUrl,
    creds,
    admin,
    fault: (rule) => admin('faults', rule),
    clearFaults: () => admin('faults', undefined, 'DELETE'),
    resetStats: () => admin('stats/reset', {}),
    count: async (route) => (await admin('stats')).per_route[route] ?? 0,
    options: (o) => admin('options', o),
    /** Gives number `seq` one more item: `{ seq, id, ids }`. */
    duplicate: (org, seq, body = {}) => adminOk(`orgs/${org}/items/${seq}/duplicate`, body),
    /** Moves item `id` to number `to`: `{ id, from, to, ids_at_to }`. */
    renumber: (org, id, to) => adminOk(`orgs/${org}/item-ids/${id}/renumber`, { to }),
    /** Gives item `id`'s first form-data entry an invalid `data` (the simulator's default, or
     * `data`): `{ id, data }`. */
    corruptForm: (org, id, data) => adminOk(`orgs/${org}/item-ids/${id}/corrupt-form`, data === undefined ? {} : { data }),
    hide: (org, seq, id) => adminOk(`orgs/${org}/items/${seq}/hide${query(id)}`, {}),
    show: (org, seq, id) => adminOk(`orgs/${org}/items/${seq}/show${query(id)}`, {}),
    stop: () => proc.kill(),
    clientOptions: (org = 1, extra = {}) => ({
      baseUrl, token: `sim-token-org${org}`, organizationId: org, officeId: org * 100 + 1,
      requestsPerSecond: 0, maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 5, ...extra,
    }),
  };
}

export const vectors = JSON.parse(readFileSync(path.join(ROOT, 'tests', 'conformance', 'vectors.json'), 'utf8'));

// tests/conformance/full-models.json through the Node binding: one wire object per model with
// every field set (and one unknown field), served by the simulator (a status-200 fault with
// the vector as its body) and decoded through the real addon path, then compared key by key
// and by JS runtime type with the core's schema. Models with no endpoint (Address, NewPerson)
// have their vector keys checked against the schema.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as st from '../lib/index.mjs';
import { ROOT, startSimulator } from './helpers.mjs';

const UNKNOWN = 'futureField';
const { models, core_models: coreModels } = JSON.parse(readFileSync(path.join(ROOT, 'tests', 'conformance', 'full-models.json'), 'utf8'));
const defs = JSON.parse(readFileSync(path.join(ROOT, 'schema', 'safe-tracker.schema.json'), 'utf8')).$defs;
// Where the JS layer decodes form data (`withForms`; tools/codegen's node_view::DECODED, the
// non-`Wire*` types of lib/models.d.ts): elsewhere (a person's form data) `data` stays the wire's text.
const DECODED = new Set(['Item', 'Case', 'FormDataEntry']);
const MODELS = ['Item', 'Case', 'CustodyEntry', 'Person', 'Address', 'FormDataEntry', 'User', 'NewPerson', 'Form', 'LookupEntry', 'TypeaheadEntry'];

let sim;
before(async () => { sim = await startSimulator(); });
after(() => sim.stop());

const reference = (prop) => {
  const ref = prop.$ref ?? (prop.anyOf ?? []).map((b) => b.$ref).find(Boolean);
  return ref ? ref.split('/').pop() : null;
};
const jsonType = (prop) => (Array.isArray(prop.type) ? prop.type.find((t) => t !== 'null') : prop.type) ?? null;

/** `value` (decoded by the binding) is set and of the JS type the schema gives `prop`. */
function checkValue(at, prop, value, wire, decoded) {
  assert.ok(value !== null && value !== undefined, `${at}: missing`);
  const name = reference(prop);
  if (name) {
    const kind = defs[name]['x-safe-type'];
    if (kind === 'datetime') {
      assert.equal(typeof value, 'string', at);
      assert.equal(value, wire, at);
      assert.ok(!Number.isNaN(Date.parse(value)), `${at}: a date`);
    } else if (kind === 'form-data' && !decoded) {
      assert.equal(value, wire, `${at}: the wire's text`);
    } else if (kind === 'form-data') {
      assert.ok(value && typeof value === 'object' && !Array.isArray(value), `${at}: decoded fields`);
      assert.deepEqual(value, JSON.parse(wire), at);
    } else if (defs[name].oneOf?.every((v) => typeof v.const === 'string')) {
      // A string enum (TenantPhase): one of its constants, as sent.
      assert.ok(defs[name].oneOf.some((v) => v.const === value), `${at}: ${value} is one of ${name}`);
      assert.equal(value, wire, at);
    } else {
      checkModel(at, name, value, wire, false, decoded);
    }
    return;
  }
  const t = jsonType(prop);
  if (t === null) assert.deepEqual(value, wire, `${at}: any value, kept`);
  else if (t === 'integer') assert.ok(Number.isInteger(value), `${at}: ${typeof value}`);
  else if (t === 'string') assert.equal(typeof value, 'string', at);
  else if (t === 'boolean') assert.equal(typeof value, 'boolean', at);
  else if (t === 'number') assert.equal(typeof value, 'number', at);
  else if (t === 'array') {
    assert.ok(Array.isArray(value) && value.length === wire.length && value.length > 0, `${at}: a list`);
    const item = (i) => (prop.prefixItems ? prop.prefixItems[i] : prop.items === true ? {} : prop.items);
    value.forEach((v, i) => checkValue(`${at}[${i}]`, item(i), v, wire[i], decoded));
  } else if (t === 'object' && typeof prop.additionalProperties === 'object') {
    assert.ok(Object.keys(wire).length > 0, `${at}: an empty map checks nothing`);
    assert.deepEqual(Object.keys(value), Object.keys(wire), `${at}: keys`);
    for (const k of Object.keys(wire)) checkValue(`${at}.${k}`, prop.additionalProperties, value[k], wire[k], decoded);
  } else if (t === 'object' && prop.patternProperties) {
    const [element] = Object.values(prop.patternProperties);
    assert.deepEqual(Object.keys(value), Object.keys(wire), `${at}: keys`);
    for (const k of Object.keys(wire)) checkValue(`${at}.${k}`, element, value[k], wire[k], decoded);
  } else assert.fail(`${at}: schema type ${t} not handled`);
}

/** Every key of `value` against `$defs/name`; with `full`, exactly the schema's properties and
 * the unknown field. A form-data entry the JS layer decodes also carries `rawData` (the `data`
 * text as sent). */
function checkModel(at, name, value, wire, full, decoded) {
  assert.ok(value && typeof value === 'object' && !Array.isArray(value), `${at}: an object`);
  if (!defs[name].properties) return checkVariant(at, name, value, wire);
  const props = defs[name].properties;
  for (const key of Object.keys(props)) {
    if (!full && !(key in wire)) continue;
    checkValue(`${at}.${key}`, props[key], value[key], wire[key], decoded);
  }
  const expected = Object.keys(wire);
  if (full) for (const key of expected) assert.ok(key in props || key === UNKNOWN, `${at}.${key}: not in the schema of ${name}`);
  if (name === 'FormDataEntry' && decoded) {
    expected.push('rawData');
    assert.equal(value.rawData, wire.data, `${at}.rawData`);
    assert.equal(value.dataError, undefined, `${at}.dataError`);
  }
  assert.deepEqual(Object.keys(value).sort(), expected.sort(), `${at}: keys`);
  if (UNKNOWN in wire) assert.deepEqual(value[UNKNOWN], wire[UNKNOWN], `${at}: unknown field kept`);
}

/** A union (`oneOf`/`anyOf` of objects): `value` matches the one variant whose required keys
 * and constants `wire` has, key for key (the core writes these; the JS layer passes them on). */
function checkVariant(at, name, value, wire) {
  const variants = defs[name].oneOf ?? defs[name].anyOf;
  const matching = variants.filter((v) => (v.required ?? []).every((k) => k in wire)
    && Object.entries(v.properties).every(([k, p]) => !('const' in p) || wire[k] === p.const));
  assert.equal(matching.length, 1, `${at}: one variant of ${name}`);
  const props = matching[0].properties;
  assert.deepEqual(Object.keys(value).sort(), Object.keys(props).sort(), `${at}: every key of the variant`);
  for (const [k, p] of Object.entries(props)) {
    if ('const' in p) assert.equal(value[k], p.const, `${at}.${k}`);
    else checkValue(`${at}.${k}`, p, value[k], wire[k], false);
  }
}

const camel = (k) => k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** A record as the JS layer hands it over (camelCase keys, form data decoded) against the
 * schema of the wire record, every field. */
function checkRecord(at, name, value, wire) {
  const props = defs[name].properties;
  assert.deepEqual(Object.keys(value).sort(), Object.keys(props).map(camel).sort(), `${at}: keys`);
  for (const [key, prop] of Object.entries(props)) {
    // The JS layer decodes the form data of the item, the case and the record's own list.
    const decoded = ['item', 'case', 'form_data'].includes(key);
    checkValue(`${at}.${camel(key)}`, prop, value[camel(key)], wire[key], decoded);
  }
}

test('the core-produced models: records decode with every field, status shapes are the schema', () => {
  const require = createRequire(import.meta.url);
  const records = require('../lib/records.js');
  assert.deepEqual(Object.keys(coreModels).sort(), ['ItemRecord', 'PollerState', 'PollerStatus', 'SweepPlan', 'SweepReport', 'TenantState', 'UpdatedRecord']);
  for (const wire of coreModels.ItemRecord) checkRecord('ItemRecord', 'ItemRecord', records.itemRecord(wire), wire);
  for (const wire of coreModels.UpdatedRecord) checkRecord('UpdatedRecord', 'UpdatedRecord', records.updatedRecord(wire), wire);
  for (const name of ['PollerStatus', 'SweepPlan', 'SweepReport', 'PollerState', 'TenantState']) {
    for (const wire of coreModels[name]) checkModel(name, name, JSON.parse(JSON.stringify(wire)), wire, true, false);
  }
});

test('a live sweep hands over records, status, plan and report with the schema\'s keys', async () => {
  const require = createRequire(import.meta.url);
  const records = require('../lib/records.js');
  const client = new st.Client(sim.clientOptions(1));
  const poller = new st.Poller(client, { unsafeMinInterval: 0, expand: ['form_data', 'case', 'people', 'custody'] });
  const got = [];
  const report = await poller.sweep((r) => { got.push(r); });
  assert.ok(got.length > 0);
  const expected = Object.keys(records.itemRecord(coreModels.ItemRecord[0])).sort();
  for (const r of got) assert.deepEqual(Object.keys(r).sort(), expected, 'every record field is handed over');
  const shapes = [['PollerStatus', poller.status()], ['SweepPlan', poller.plan()], ['SweepReport', report], ['SweepReport', poller.lastReport()]];
  for (const [name, value] of shapes) {
    const { properties, required = [] } = defs[name];
    for (const key of required) assert.ok(key in value, `${name}.${key}: present`);
    for (const key of Object.keys(value)) assert.ok(key in properties, `${name}.${key}: in the schema`);
  }
  await poller.close();
});

test('every model has a vector with every schema field (and the unknown one where kept)', () => {
  assert.deepEqual(Object.keys(models).sort(), [...MODELS].sort());
  for (const name of MODELS) {
    const wire = models[name];
    const props = Object.keys(defs[name].properties).sort();
    assert.deepEqual(Object.keys(wire).filter((k) => k !== UNKNOWN).sort(), props, name);
    assert.equal(UNKNOWN in wire, defs[name].additionalProperties === true, name);
    for (const key of props) assert.ok(wire[key] !== null && wire[key] !== undefined, `${name}.${key}`);
  }
  // The nested models of NewPerson have their own schema.
  checkModel('NewPerson.person', 'Person', models.NewPerson.person, models.NewPerson.person, false, false);
  checkModel('NewPerson.address', 'Address', models.NewPerson.address, models.NewPerson.address, false, false);
  checkModel('Address', 'Address', models.Address, models.Address, true, false);
});

// Each endpoint: the route the fault answers, the call, and whether the answer is a list.
const ENDPOINTS = {
  Item: { path: `seqOrgID/${models.Item.sequentialOrgId}`, call: (c) => c.itemBySeq(models.Item.sequentialOrgId) },
  Case: { path: 'cases/424242', call: (c) => c.case(424242) },
  Person: { path: 'people/424243', call: (c) => c.person(424243) },
  User: { path: 'users/424244', call: (c) => c.user(424244) },
  CustodyEntry: { path: 'items/424245/coc', list: true, call: (c) => c.chainOfCustody(424245) },
  FormDataEntry: { path: 'formdata/424246', list: true, call: (c) => c.itemFormData(424246) },
  Form: { path: 'forms', list: true, call: (c) => c.forms() },
  LookupEntry: { path: 'races', list: true, call: (c) => c.lookup('races') },
  TypeaheadEntry: { path: 'people/typeahead', list: true, call: (c) => c.peopleTypeahead('okafor') },
};

test('every field decodes through the addon with its name and JS type', async () => {
  const client = new st.Client(sim.clientOptions(1));
  for (const [name, ep] of Object.entries(ENDPOINTS)) {
    const wire = models[name];
    await sim.clearFaults();
    await sim.fault({ kind: 'status', status: 200, body: JSON.stringify(ep.list ? [wire] : wire), path_contains: ep.path });
    const got = await ep.call(client);
    const value = ep.list ? got : [got];
    assert.equal(value.length, 1, name);
    checkModel(name, name, value[0], wire, true, DECODED.has(name));
  }
  await sim.clearFaults();
  assert.deepEqual(Object.keys(ENDPOINTS).concat(['Address', 'NewPerson']).sort(), [...MODELS].sort(), 'every model is decoded or key-checked');
});

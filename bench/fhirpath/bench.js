// Runs the FHIRPath search-parameter workload through HL7's fhirpath.js.
// Usage: node bench.js --shared DIR --out FILE [--bundles N] [--passes N]
// (run.sh installs fhirpath into a temporary folder and sets NODE_PATH).
'use strict';
const fs = require('fs');
const path = require('path');
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : def;
};
const shared = opt('shared');
const out = opt('out');
const bundles = parseInt(opt('bundles', '0'), 10);
const passes = parseInt(opt('passes', '2'), 10);

const spBundle = JSON.parse(fs.readFileSync(path.join(shared, 'fhir/r4/definitions/Bundle-searchParams.json'), 'utf8'));
const params = spBundle.entry.map(e => e.resource).filter(r => r.expression);

// Same order as the Go side: parameters in bundle order, files sorted,
// bases [type, Resource, DomainResource] without repeats.
let files = fs.readdirSync(path.join(shared, 'synthea/r4')).filter(f => f.endsWith('.json')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
if (bundles > 0) files = files.slice(0, bundles);
const resources = [];
for (const f of files) {
  const b = JSON.parse(fs.readFileSync(path.join(shared, 'synthea/r4', f), 'utf8'));
  for (const e of b.entry || []) if (e.resource) resources.push(e.resource);
}

const compiled = [];
const rejected = [];
const byType = new Map();
params.forEach((p) => {
  let fn = null;
  try {
    fn = fhirpath.compile(p.expression, r4);
  } catch (err) {
    rejected.push({ url: p.url, expression: p.expression, error: String(err && err.message || err).slice(0, 200) });
    return;
  }
  compiled.push({ fn, url: p.url });
  const idx = compiled.length - 1;
  for (const b of p.base) {
    if (!byType.has(b)) byType.set(b, []);
    byType.get(b).push(idx);
  }
});

const pairE = [];
const pairR = [];
for (const r of resources) {
  const seen = new Set();
  for (const base of [r.resourceType, 'Resource', 'DomainResource']) {
    for (const i of byType.get(base) || []) {
      if (!seen.has(i)) {
        seen.add(i);
        pairE.push(i);
        pairR.push(r);
      }
    }
  }
}

function pass() {
  let errors = 0;
  const failing = new Set();
  for (let k = 0; k < pairE.length; k++) {
    try {
      compiled[pairE[k]].fn(pairR[k]);
    } catch (err) {
      errors++;
      failing.add(pairE[k]);
    }
  }
  return { errors, failing };
}

pass(); // warm-up (JIT)
let best = Infinity;
let total = 0;
let errors = 0;
let failing = new Set();
for (let p = 0; p < passes; p++) {
  const t0 = process.hrtime.bigint();
  const r = pass();
  const ns = Number(process.hrtime.bigint() - t0);
  total += ns;
  best = Math.min(best, ns);
  errors = r.errors;
  failing = r.failing;
}
const evals = pairE.length;
const result = {
  engine: 'fhirpath.js ' + require('fhirpath/package.json').version,
  resources: resources.length,
  expressions: compiled.length,
  evaluations_per_pass: evals,
  passes,
  mean_ns_per_eval: total / passes / evals,
  best_ns_per_eval: best / evals,
  eval_errors_per_pass: errors,
  failing_expressions: [...failing].map(i => compiled[i].url),
  rejected,
};
fs.writeFileSync(out, JSON.stringify(result, null, 1));
console.log(`fhirpath.js: ${result.expressions} expressions (${rejected.length} rejected at compile), ${evals} evaluations/pass over ${resources.length} resources, ` +
  `mean ${(result.mean_ns_per_eval / 1000).toFixed(3)} µs/eval (best pass ${(result.best_ns_per_eval / 1000).toFixed(3)}), ${errors} evaluation errors/pass`);

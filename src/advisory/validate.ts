/**
 * The official validators of the advisory formats (issue #14): CSAF 2.0 through the BSI's
 * @secvisogram/csaf-validator-lib (the JSON schema test and the mandatory tests 6.1.x; no optional
 * or informative test, so no network and no hunspell), OSV and CVE JSON 5 through ajv against the
 * upstream schemas vendored unchanged under ./schemas (SOURCES.md there names their commits).
 *
 * The only impure part of src/advisory: it loads the schemas and compiles them, once, on first use.
 * A problem names where (a JSON pointer into the document) and what, never a field's value: a
 * draft holds the title and summary of an unpublished flaw.
 */
import type { DocumentTest } from '@secvisogram/csaf-validator-lib/validate.js';
import { weaknesses } from '@secvisogram/csaf-validator-lib/cwe.js';
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import osvSchema from './schemas/osv/schema.json' with { type: 'json' };
import cveSchema from './schemas/cve/CVE_Record_Format.json' with { type: 'json' };
import cvssV20 from './schemas/cve/imports/cvss/cvss-v2.0.json' with { type: 'json' };
import cvssV30 from './schemas/cve/imports/cvss/cvss-v3.0.json' with { type: 'json' };
import cvssV31 from './schemas/cve/imports/cvss/cvss-v3.1.json' with { type: 'json' };
import cvssV40 from './schemas/cve/imports/cvss/cvss-v4.0.json' with { type: 'json' };
import referenceTags from './schemas/cve/tags/reference-tags.json' with { type: 'json' };
import cnaTags from './schemas/cve/tags/cna-tags.json' with { type: 'json' };
import adpTags from './schemas/cve/tags/adp-tags.json' with { type: 'json' };

/** One thing wrong with a document: where (JSON pointer, '' for the whole document) and what. */
export interface FormatProblem {
  path: string;
  message: string;
}

// ajv-formats is CommonJS with `exports.default`: under nodenext the default import is the module.
type AddFormats = (ajv: Ajv | Ajv2020) => unknown;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ??
  (addFormatsModule as unknown as AddFormats);

// ---------------------------------------------------------------------------------------------
// CSAF 2.0

/**
 * The mandatory tests whose messages quote values from the document (a product id, a purl, a hash
 * algorithm, a version number): their problems get this fixed text instead.
 */
const QUOTING_TESTS: Record<string, string> = {
  mandatoryTest_6_1_6: 'a product id is in contradicting product status groups',
  mandatoryTest_6_1_7: 'a product has more than one score of the same CVSS version',
  mandatoryTest_6_1_13: 'invalid purl',
  mandatoryTest_6_1_21: 'the revision history has missing or wrongly started version numbers',
  mandatoryTest_6_1_25: 'a file hash algorithm is used more than once',
};

type RunTests = (
  tests: DocumentTest[],
  doc: unknown,
) => Promise<{
  tests: Array<{ name: string; isValid: boolean; errors: Array<{ message: string; instancePath: string }> }>;
}>;
let csafLib: Promise<{ run: RunTests; tests: DocumentTest[] }> | undefined;

/**
 * The library, loaded on first use: importing its mandatory tests takes seconds (their date and
 * purl dependencies), which no CLI command or role that never validates CSAF should pay.
 */
function loadCsafLib(): Promise<{ run: RunTests; tests: DocumentTest[] }> {
  const loading = (csafLib ??= Promise.all([
    import('@secvisogram/csaf-validator-lib/validate.js'),
    import('@secvisogram/csaf-validator-lib/schemaTests.js'),
    import('@secvisogram/csaf-validator-lib/mandatoryTests.js'),
  ]).then(([v, schema, mandatory]) => ({
    run: v.default,
    tests: [
      schema.csaf_2_0_strict,
      ...Object.values(mandatory).filter((t): t is DocumentTest => typeof t === 'function'),
    ],
  })));
  return loading;
}

/** `mandatoryTest_6_1_11` → `6.1.11`, `csaf_2_0_strict` → `schema`. */
function testLabel(name: string): string {
  const m = /^mandatoryTest_(\d+(?:_\d+)*)$/.exec(name);
  return m?.[1] ? m[1].replace(/_/g, '.') : 'schema';
}

/**
 * CSAF 2.0: the strict JSON schema test and every mandatory test (§6.1) of the CSAF 2.0 standard.
 * Each message starts with the test (`schema:` or `6.1.11:`). Async because the library is.
 */
export async function validateCsaf(doc: unknown): Promise<FormatProblem[]> {
  const { run, tests } = await loadCsafLib();
  const problems: FormatProblem[] = [];
  // One test at a time, so a test that throws on a malformed document is a problem, not a crash.
  for (const test of tests) {
    const label = testLabel(test.name);
    let result;
    try {
      result = await run([test], doc);
    } catch {
      problems.push({ path: '', message: `${label}: the test could not run on this document` });
      continue;
    }
    for (const t of result.tests) {
      if (t.isValid) continue;
      const fixed = QUOTING_TESTS[t.name];
      const errors = t.errors.length > 0 ? t.errors : [{ instancePath: '', message: 'failed' }];
      for (const e of errors) {
        problems.push({ path: e.instancePath, message: `${label}: ${fixed ?? e.message}` });
      }
    }
  }
  return dedupe(problems);
}

const CWE_NAMES = new Map<string, string>(weaknesses.map((w) => [w.id, w.name]));

/**
 * The CWE name for an id (`CWE-787`) in the catalogue the CSAF library's mandatory test 6.1.11
 * checks `cwe.name` against, or null when the catalogue does not know the id.
 */
export function cweName(id: string): string | null {
  return CWE_NAMES.get(id) ?? null;
}

// ---------------------------------------------------------------------------------------------
// OSV and CVE JSON 5 (ajv)

let osvValidator: ValidateFunction | undefined;
let cveValidator: ValidateFunction | undefined;

// strict: false — the upstream schemas are vendored unchanged and use keywords ajv's strict mode
// rejects (`license` in the CVSS imports, union types); allErrors so staff see every problem.
function osv(): ValidateFunction {
  if (!osvValidator) {
    // The OSV schema declares draft 2020-12.
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    osvValidator = ajv.compile(osvSchema as AnySchema);
  }
  return osvValidator;
}

function cve(): ValidateFunction {
  if (!cveValidator) {
    // CVE JSON 5 declares draft-07 (ajv's default draft).
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    // The FIRST CVSS 2.0/3.0/3.1 schemas carry the draft-04 `id` (ignored here; ajv 8 refuses it
    // by default) and CVSS 2.0 declares draft-04, whose meta-schema ajv 8 does not ship: it is
    // added without checking it against its meta-schema.
    ajv.removeKeyword('id');
    // The record's $refs are `file:` names relative to the schema folder upstream.
    ajv.addSchema(cvssV20, 'file:imports/cvss/cvss-v2.0.json', undefined, false);
    ajv.addSchema(cvssV30, 'file:imports/cvss/cvss-v3.0.json');
    ajv.addSchema(cvssV31, 'file:imports/cvss/cvss-v3.1.json');
    ajv.addSchema(cvssV40, 'file:imports/cvss/cvss-v4.0.json');
    ajv.addSchema(referenceTags, 'file:tags/reference-tags.json');
    ajv.addSchema(cnaTags, 'file:tags/cna-tags.json');
    ajv.addSchema(adpTags, 'file:tags/adp-tags.json');
    cveValidator = ajv.compile(cveSchema as AnySchema);
  }
  return cveValidator;
}

/** OSV (ossf/osv-schema `validation/schema.json`). */
export function validateOsv(doc: unknown): FormatProblem[] {
  return run(osv(), doc);
}

/** CVE JSON 5 record (CVEProject/cve-schema `CVE_Record_Format.json` and its imports). */
export function validateCve(doc: unknown): FormatProblem[] {
  return run(cve(), doc);
}

function run(validate: ValidateFunction, doc: unknown): FormatProblem[] {
  if (validate(doc)) return [];
  return dedupe((validate.errors ?? []).map(problemOf));
}

/**
 * ajv's own messages name schema facts only (a required property, a pattern, a format, "one of the
 * allowed values" without listing them); the value is never in them, and `params` (which may hold
 * it, e.g. for `const`) is not used, except the name of an unexpected property, which is a key.
 */
function problemOf(e: ErrorObject): FormatProblem {
  let message = e.message ?? `fails ${e.keyword}`;
  if (e.keyword === 'additionalProperties') {
    const name = (e.params as { additionalProperty?: unknown }).additionalProperty;
    if (typeof name === 'string') message += ` (${name})`;
  }
  return { path: e.instancePath, message };
}

function dedupe(problems: FormatProblem[]): FormatProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

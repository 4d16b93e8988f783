// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/**
 * Import direction (STYLE.md §2): each I/O library is owned by one folder, each stage imports
 * values and types only from the folders `ALLOWED` lists for it, and nothing in src/ imports
 * src/roles, src/cli, workers/ or test/. Values flow only through the composition code
 * (src/*.ts, src/roles, src/cli) and workers/.
 */
const OWNERS = {
  imapflow: ['src/1-intake'],
  mailparser: ['src/2-decode'],
  openpgp: ['src/pgp'],
  nodemailer: ['src/8-outbox'],
  // Not src/7-cases/rules: the pure case core (see caseRulesRule).
  'better-sqlite3': ['src/7-cases'],
  bullmq: ['src/jobs', 'workers'],
  ioredis: ['src/jobs'],
  pino: ['src/core'],
  // src/8-outbox: the schemas that validate each mail kind's stored payload when it is read.
  zod: ['src/config', 'src/8-outbox'],
  'smol-toml': ['src/config'],
  'date-holidays': ['src/config', 'src/calendar'],
  luxon: ['src/calendar'],
  handlebars: ['src/8-outbox'],
  'ae-cvss-calculator': ['src/6-commands'],
  mailauth: ['src/5-authenticate'],
  'email-reply-parser': ['src/6-commands'],
  // The program documents' Markdown becomes the HTML book in one place (#12).
  marked: ['src/program'],
  // The evidence archive and the progress bars of long CLI work (#12).
  tar: ['src/cli'],
  'cli-progress': ['src/cli'],
  // The advisory formats' official validators (#14): the BSI CSAF library, JSON Schema for OSV
  // and CVE JSON 5 (vendored schemas).
  '@secvisogram/csaf-validator-lib': ['src/advisory'],
  ajv: ['src/advisory'],
  'ajv-formats': ['src/advisory'],
  // The Prometheus metrics of the HTTP listener (#15).
  'prom-client': ['src/metrics'],
};

/**
 * Composition code in src/ (like src/*.ts): it may import every stage, and no stage imports it.
 * roles/: the process roles `psirt start` runs; cli/: the bodies of the `psirt` commands.
 */
const COMPOSITION = ['roles', 'cli'];

/**
 * The pipeline stages, numbered in flow order in the tree (src/1-intake … src/8-outbox), and the
 * shared folders beside them. Rules below name stages by their short name; `dir()` gives the folder.
 */
const DIR = {
  intake: '1-intake',
  decode: '2-decode',
  unwrap: '3-unwrap',
  classify: '4-classify',
  authenticate: '5-authenticate',
  commands: '6-commands',
  cases: '7-cases',
  outbox: '8-outbox',
};
const dir = (stage) => DIR[stage] ?? stage;

const STAGES = [
  ...Object.keys(DIR),
  'core',
  'config',
  'pgp',
  'calendar',
  'policy',
  'jobs',
  'program',
  'evidence',
  'advisory',
  'metrics',
];

/** For each folder: the sibling stages it may import values from, and those it may import types from. */
const ALLOWED = {
  core: { values: [], types: [] },
  config: { values: ['core'], types: [] },
  calendar: { values: ['core'], types: ['config'] },
  // pgp is an adapter (owns openpgp) used by unwrap directly and by outbox through injection.
  pgp: { values: ['core'], types: ['config'] },
  intake: { values: ['core'], types: ['config'] },
  // decode: MIME only (owns mailparser); it knows nothing of OpenPGP.
  decode: { values: ['core'], types: ['config', 'intake'] },
  // unwrap: the OpenPGP layers (decrypt, verify, keys, protected headers); it calls decode's
  // parse functions for every entity it finds inside the message, so mailparser stays in decode.
  unwrap: { values: ['core', 'pgp', 'decode'], types: ['config'] },
  classify: { values: ['core'], types: ['config', 'decode'] },
  // authenticate: DKIM (owns mailauth) and the pure decision who sent a staff mail.
  authenticate: { values: ['core'], types: ['config', 'decode'] },
  // policy: pure deadline derivation from case facts, the calendar passed in.
  policy: { values: ['core'], types: ['config', 'calendar'] },
  // commands: the pure domain of staff commands (lifecycle, RACI, planning).
  commands: {
    values: ['core', 'classify', 'policy', 'authenticate', 'advisory'],
    types: ['config', 'decode', 'calendar'],
  },
  // cases imports the outbox payload types (src/8-outbox/kinds) it writes: the writer and the mailer
  // share one type per mail kind (#11). Types only: no value flows back up.
  cases: {
    values: ['core', 'commands', 'policy', 'advisory'],
    types: ['config', 'classify', 'decode', 'calendar', 'authenticate', 'outbox'],
  },
  // outbox holds the mailer (deliver.ts, moved from workers/ in #11): it claims and marks outbox
  // rows and reads cases through src/7-cases (the owner of every SQL statement), decodes stored
  // reports again (no plaintext at rest), and its kind modules render command help (commands),
  // expert lists (policy) and held-acknowledgment notes (cases/first-contact). Nothing imports
  // outbox values except the composition roots, so no cycle.
  outbox: {
    values: ['core', 'config', 'cases', 'unwrap', 'commands', 'policy', 'advisory'],
    types: ['config', 'cases', 'pgp', 'calendar', 'decode', 'commands'],
  },
  jobs: { values: ['core', 'config'], types: ['config'] },
  // program: the ISO/IEC 18974 documents rendered, pure, from the configuration the service
  // enforces (#12): the same deadline policy, calendar, ladder and RACI matrix.
  program: { values: ['core', 'config', 'calendar', 'policy'], types: ['config', 'calendar', 'policy'] },
  // evidence: the audit period's per-case stage verdicts, SLA figures and report, pure, from rows
  // that src/7-cases reads (#12); the archive and its signature are composed in src/cli.
  // advisory: the advisory model and its formats (CSAF 2.0, OSV, CVE JSON 5, Markdown), pure but
  // for the validators it owns (#14); rendered from a frozen snapshot and the products in config.
  advisory: { values: ['core', 'config'], types: ['config'] },
  evidence: {
    values: ['core', 'config', 'calendar', 'policy', 'program', 'advisory'],
    types: ['config', 'cases', 'calendar', 'policy', 'program'],
  },
  // metrics: the HTTP listener (node:http), /metrics through prom-client (owned here), /healthz and
  // /readyz (#15). It reads nothing itself: the SQLite snapshot (src/7-cases/metrics-store.ts) and
  // the Redis probe (src/jobs/queue-probe.ts) are passed in by src/roles/observability.ts; the
  // case stages come from commands, the flag words from core.
  metrics: { values: ['core', 'commands'], types: ['config', 'cases', 'jobs'] },
};

function libraryPatterns(folder) {
  return Object.entries(OWNERS)
    .filter(([, owners]) => !owners.includes(folder))
    .map(([lib, owners]) => ({
      group: [lib, `${lib}/*`],
      message: `${lib} is owned by ${owners.join(' and ')} (STYLE.md §2: one folder owns each I/O library)`,
    }));
}

/**
 * The import rules of one stage, for its files `depth` folders below src/ (1: src/8-outbox/x.ts,
 * 2: a subfolder such as src/8-outbox/kinds/x.ts), since the patterns are relative paths.
 */
function stageRule(stage, depth) {
  const { values, types } = ALLOWED[stage];
  const up = '../'.repeat(depth);
  const patterns = [
    ...libraryPatterns(`src/${dir(stage)}`),
    { group: ['**/workers/**', '**/test/**'], message: 'src/ never imports workers/ or test/' },
    { group: [`${up}*.js`], message: `src/${dir(stage)} may not import the composition roots (src/*.ts)` },
  ];
  for (const root of COMPOSITION) {
    patterns.push({
      group: [`${up}${root}/*`],
      message: `src/${dir(stage)} may not import src/${root} (composition code)`,
    });
  }
  for (const other of STAGES) {
    if (other === stage || values.includes(other)) continue;
    patterns.push({
      group: [`${up}${dir(other)}/*`],
      message: types.includes(other)
        ? `src/${dir(stage)} may import only types from src/${dir(other)} (use import type)`
        : `src/${dir(stage)} may not import src/${dir(other)}`,
      ...(types.includes(other) ? { allowTypeImports: true } : {}),
    });
  }
  return {
    files: [depth === 1 ? `src/${dir(stage)}/*.ts` : `src/${dir(stage)}/*/**/*.ts`],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  };
}

/**
 * src/7-cases/rules: the pure case core (what a mail does to a case, as a change). No SQLite and no
 * store values — only their types; the pure helpers beside the stores (subject, addresses) may
 * be used. Same stage rule as src/7-cases otherwise.
 */
function caseRulesRule() {
  const { values, types } = ALLOWED.cases;
  const patterns = [
    ...libraryPatterns('src/7-cases/rules'),
    { group: ['**/workers/**', '**/test/**'], message: 'src/ never imports workers/ or test/' },
    { group: ['../../*.js'], message: 'src/7-cases/rules may not import the composition roots (src/*.ts)' },
    {
      group: ['../*.js', '!../subject.js', '!../addresses.js'],
      message: 'src/7-cases/rules is pure: only types from the stores (use import type)',
      allowTypeImports: true,
    },
  ];
  for (const root of COMPOSITION) {
    patterns.push({
      group: [`../../${root}/*`],
      message: `src/7-cases/rules may not import src/${root} (composition code)`,
    });
  }
  for (const other of STAGES) {
    if (other === 'cases' || values.includes(other)) continue;
    patterns.push({
      group: [`../../${dir(other)}/*`],
      message: types.includes(other)
        ? `src/7-cases/rules may import only types from src/${dir(other)} (use import type)`
        : `src/7-cases/rules may not import src/${dir(other)}`,
      ...(types.includes(other) ? { allowTypeImports: true } : {}),
    });
  }
  return {
    files: ['src/7-cases/rules/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  // test/stack/oauth2-server.mjs: plain node run by stack.sh (no TypeScript, no build step).
  {
    ignores: [
      'dist/',
      'coverage/',
      '.stack',
      '.stack/',
      'node_modules/',
      'test/fixtures/',
      'test/stack/oauth2-server.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSEnumDeclaration',
          message: 'no enums: use `as const` objects and unions (STYLE.md rule 13)',
        },
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'only src/config reads process.env',
        },
      ],
    },
  },
  ...STAGES.flatMap((stage) => [stageRule(stage, 1), stageRule(stage, 2)]),
  caseRulesRule(),
  ...['src', ...COMPOSITION.map((c) => `src/${c}`)].map((folder) => ({
    files: [folder === 'src' ? 'src/*.ts' : `${folder}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ...libraryPatterns(folder),
            { group: ['**/workers/**', '**/test/**'], message: 'src/ never imports workers/ or test/' },
          ],
        },
      ],
    },
  })),
  {
    files: ['workers/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ...libraryPatterns('workers'),
            { group: ['**/test/**'], message: 'workers/ never imports test/' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/config/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts', 'vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  prettier,
);

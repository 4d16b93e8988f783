// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/**
 * Import direction (STYLE.md §2): each I/O library is owned by one folder, stages import only
 * `core`, `config` types and the types of the stage directly upstream, and nothing in src/
 * imports workers/ or test/. Values flow only through the composition roots (src/*.ts, workers/).
 */
const OWNERS = {
  imapflow: ['src/intake'],
  mailparser: ['src/decode'],
  openpgp: ['src/pgp'],
  nodemailer: ['src/outbox'],
  // Not src/cases/rules: the pure case core (see caseRulesRule).
  'better-sqlite3': ['src/cases'],
  bullmq: ['src/jobs', 'workers'],
  ioredis: ['src/jobs'],
  pino: ['src/core'],
  // src/outbox: the schemas that validate each mail kind's stored payload when it is read.
  zod: ['src/config', 'src/outbox'],
  'smol-toml': ['src/config'],
  'date-holidays': ['src/config', 'src/calendar'],
  luxon: ['src/calendar'],
  handlebars: ['src/outbox'],
  'ae-cvss-calculator': ['src/commands'],
  mailauth: ['src/authenticate'],
  'email-reply-parser': ['src/commands'],
};

/**
 * Composition code in src/ (like src/*.ts): it may import every stage, and no stage imports it.
 * roles/: the process roles `psirt start` runs; cli/: the bodies of the `psirt` commands.
 */
const COMPOSITION = ['roles', 'cli'];

const STAGES = [
  'core',
  'config',
  'pgp',
  'intake',
  'decode',
  'unwrap',
  'classify',
  'cases',
  'outbox',
  'jobs',
  'calendar',
  'authenticate',
  'commands',
  'policy',
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
    values: ['core', 'classify', 'policy', 'authenticate'],
    types: ['config', 'decode', 'calendar'],
  },
  // cases imports the outbox payload types (src/outbox/kinds) it writes: the writer and the mailer
  // share one type per mail kind (#11). Types only: no value flows back up.
  cases: {
    values: ['core', 'commands', 'policy'],
    types: ['config', 'classify', 'decode', 'calendar', 'authenticate', 'outbox'],
  },
  // outbox holds the mailer (deliver.ts, moved from workers/ in #11): it claims and marks outbox
  // rows and reads cases through src/cases (the owner of every SQL statement), decodes stored
  // reports again (no plaintext at rest), and its kind modules render command help (commands),
  // expert lists (policy) and held-acknowledgment notes (cases/first-contact). Nothing imports
  // outbox values except the composition roots, so no cycle.
  outbox: {
    values: ['core', 'config', 'cases', 'unwrap', 'commands', 'policy'],
    types: ['config', 'cases', 'pgp', 'calendar', 'decode', 'commands'],
  },
  jobs: { values: ['core', 'config'], types: ['config'] },
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
 * The import rules of one stage, for its files `depth` folders below src/ (1: src/outbox/x.ts,
 * 2: a subfolder such as src/outbox/kinds/x.ts), since the patterns are relative paths.
 */
function stageRule(stage, depth) {
  const { values, types } = ALLOWED[stage];
  const up = '../'.repeat(depth);
  const patterns = [
    ...libraryPatterns(`src/${stage}`),
    { group: ['**/workers/**', '**/test/**'], message: 'src/ never imports workers/ or test/' },
    { group: [`${up}*.js`], message: `src/${stage} may not import the composition roots (src/*.ts)` },
  ];
  for (const root of COMPOSITION) {
    patterns.push({
      group: [`../${root}/*`],
      message: `src/${stage} may not import src/${root} (composition code)`,
    });
  }
  for (const other of STAGES) {
    if (other === stage || values.includes(other)) continue;
    patterns.push({
      group: [`${up}${other}/*`],
      message: types.includes(other)
        ? `src/${stage} may import only types from src/${other} (use import type)`
        : `src/${stage} may not import src/${other}`,
      ...(types.includes(other) ? { allowTypeImports: true } : {}),
    });
  }
  return {
    files: [depth === 1 ? `src/${stage}/*.ts` : `src/${stage}/*/**/*.ts`],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  };
}

/**
 * src/cases/rules: the pure case core (what a mail does to a case, as a change). No SQLite and no
 * store values — only their types; the pure helpers beside the stores (subject, addresses) may
 * be used. Same stage rule as src/cases otherwise.
 */
function caseRulesRule() {
  const { values, types } = ALLOWED.cases;
  const patterns = [
    ...libraryPatterns('src/cases/rules'),
    { group: ['**/workers/**', '**/test/**'], message: 'src/ never imports workers/ or test/' },
    { group: ['../../*.js'], message: 'src/cases/rules may not import the composition roots (src/*.ts)' },
    {
      group: ['../*.js', '!../subject.js', '!../addresses.js'],
      message: 'src/cases/rules is pure: only types from the stores (use import type)',
      allowTypeImports: true,
    },
  ];
  for (const other of STAGES) {
    if (other === 'cases' || values.includes(other)) continue;
    patterns.push({
      group: [`../../${other}/*`],
      message: types.includes(other)
        ? `src/cases/rules may import only types from src/${other} (use import type)`
        : `src/cases/rules may not import src/${other}`,
      ...(types.includes(other) ? { allowTypeImports: true } : {}),
    });
  }
  return {
    files: ['src/cases/rules/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.stack', '.stack/', 'node_modules/', 'test/fixtures/'] },
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

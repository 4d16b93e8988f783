/**
 * `npm run fuzz`: a mutation fuzzer for the decode path (#10 item 4, DESIGN.md invariant 8).
 *
 * Seeds are the mail fixtures (test/fixtures/mail/*.eml) and the armored test keys. Each input is
 * one to three mutations of a seed — byte flips, truncation, boundary damage, header damage, huge
 * lines, deep nesting, armor damage, splices of two seeds — and runs in process through what the
 * pipeline runs on a mail: the raw header scan, decodeMessage with the team key and known sender
 * keys, classify, and the subject the case store derives. It reports exceptions escaping decode
 * (anything but the PsirtError decode documents; a throw outside any promise counts too), inputs
 * slower than the threshold, and peak memory. Input `i` of seed `s` depends only on (s, i), so
 * `--seed s --only i` replays one input; escapes and slow inputs are saved to `--out`.
 *
 *   npm run fuzz -- [--n 2000] [--seed N] [--slow-ms 5000] [--out fuzz-findings] [--only I]
 *
 * Exit code: 0 clean, 1 escapes or slow inputs, 2 bad usage.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { replySubject } from '../src/7-cases/subject.js';
import { prng } from './bench-corpus.js';
import { classify, type ClassifyContext, type ThreadIndex } from '../src/4-classify/classify.js';
import { fixedClock } from '../src/core/clock.js';
import { PsirtError } from '../src/core/errors.js';
import { scanRawHeaders } from '../src/core/raw-headers.js';
import { decodeOptions, type DecodeDeps } from '../src/3-unwrap/options.js';
import { decodeMessage } from '../src/3-unwrap/unwrap.js';
import { KEYS_DIR, NOW, publicKey, teamKey } from '../test/support/mail-fixtures.js';
import { REPO } from '../test/support/stack.js';

export interface FuzzOptions {
  n: number;
  seed: number;
  /** An input slower than this (ms) is a finding. */
  slowMs: number;
  /** Where escaping and slow inputs are saved; null saves nothing. */
  outDir: string | null;
  /** Run only this input index (replay). */
  only?: number;
  /** Progress lines (stderr) every this many ms; 0 for none. */
  progressMs?: number;
}

export interface FuzzFinding {
  index: number;
  mutations: string[];
  kind: 'escape' | 'slow';
  error?: string;
  ms: number;
  bytes: number;
  saved: string | null;
}

export interface FuzzReport {
  seed: number;
  n: number;
  escapes: FuzzFinding[];
  slow: FuzzFinding[];
  /** The slowest inputs, slowest first. */
  slowest: { index: number; ms: number; bytes: number; mutations: string[] }[];
  /** Decode-path timings of fixed hostile probes (e.g. a 200 KB From: without @). */
  probes: { name: string; ms: number }[];
  peakRssBytes: number;
  peakHeapBytes: number;
  durationMs: number;
  /** Inputs whose decode rejected with the documented PsirtError (filed as corrupt). */
  unparseable: number;
}

const MAIL_DIR = join(REPO, 'test', 'fixtures', 'mail');
const KB = 1024;

/** The PRNG of input `index`, seeded from (seed, index) so any input can be replayed alone. */
function inputPrng(seed: number, index: number): () => number {
  return prng((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0);
}

type Rand = () => number;
const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)] as T;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** Where the header block ends (the blank line), or the length. */
function headerEnd(text: string): number {
  const at = text.indexOf('\r\n\r\n');
  return at === -1 ? text.length : at;
}

const HUGE_UNITS = [
  'a',
  '<',
  '@',
  ' ',
  '"',
  '=',
  '(',
  '/x ',
  'Re: ',
  '<a ',
  '=?utf-8?q?',
  '\u00e9',
  '-----BEGIN PGP MESSAGE-----\r\n',
];
const HEADERS = [
  'From',
  'Subject',
  'Message-ID',
  'References',
  'In-Reply-To',
  'Authentication-Results',
  'Autocrypt',
  'Content-Type',
  'Return-Path',
  'Date',
  'Auto-Submitted',
];

type Mutation = (text: string, r: Rand, seeds: readonly string[]) => string;

/** Every mutation works on a latin1 string, so bytes map 1:1. */
const MUTATIONS: Record<string, Mutation> = {
  'byte-flip': (t, r) => {
    const chars = t.split('');
    for (let k = int(r, 1, 8); k > 0 && chars.length > 0; k--) {
      const at = int(r, 0, chars.length - 1);
      chars[at] = String.fromCharCode((chars[at]?.charCodeAt(0) ?? 0) ^ (1 << int(r, 0, 7)));
    }
    return chars.join('');
  },
  truncate: (t, r) => t.slice(0, int(r, 0, t.length)),
  'boundary-damage': (t, r) => {
    const m = /boundary="?([^";\r\n]{1,200})"?/i.exec(t.slice(0, 64 * KB));
    if (!m?.[1]) return t;
    const b = m[1];
    switch (int(r, 0, 4)) {
      case 0:
        return t.replaceAll(`--${b}--`, `--${b}`); // no close delimiter
      case 1:
        return t.replace(`\r\n--${b}\r\n`, '\r\n'); // a part delimiter lost
      case 2:
        return t.replace(m[0], 'boundary=""'); // empty boundary
      case 3:
        return t.replaceAll(`--${b}`, `--${b.slice(0, Math.max(1, b.length - 1))}`); // boundary mismatch
      default:
        return t.replace(`--${b}\r\n`, `--${b}\r\n--${b}\r\n\r\n`); // empty part
    }
  },
  'header-damage': (t, r) => {
    // Any header line: of the message or of a MIME part (a part's empty Content-Type: was #10).
    const lines = t.split('\r\n');
    const fields: number[] = [];
    for (const [i, line] of lines.entries()) if (/^[A-Za-z][A-Za-z0-9-]{0,40}:/.test(line)) fields.push(i);
    if (fields.length === 0) return t;
    const i = pick(r, fields);
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    switch (int(r, 0, 5)) {
      case 0:
        lines[i] = line.slice(0, colon + 1); // empty value (as `Content-Type:`)
        break;
      case 1:
        lines[i] = line.replace(':', ''); // no colon
        break;
      case 2:
        lines.splice(i, 0, line); // duplicated
        break;
      case 3:
        lines[i] = `${line}\r\n\t${'\u00ff'.repeat(int(r, 1, 64))}`; // 8-bit fold
        break;
      case 4:
        lines[i] =
          `${line.slice(0, colon + 1)} ${pick(r, ['', ';', 'multipart/mixed', 'multipart/signed; boundary=', 'text/', '/', 'message/rfc822', 'application/pgp-encrypted'])}`;
        break;
      default:
        lines.splice(i, 1); // removed
    }
    return lines.join('\r\n');
  },
  'huge-line': (t, r) => {
    const bytes = int(r, 64, 256) * KB;
    const filler = pick(r, HUGE_UNITS)
      .repeat(Math.ceil(bytes / 2))
      .slice(0, bytes);
    if (r() < 0.6) {
      const name = pick(r, HEADERS);
      return `${name}: ${filler}\r\n${t}`;
    }
    const end = headerEnd(t);
    const at = int(r, end, t.length);
    return `${t.slice(0, at)}\r\n${filler}\r\n${t.slice(at)}`;
  },
  'deep-nesting': (t, r) => {
    const depth = int(r, 8, 80);
    const end = headerEnd(t);
    let body = t.slice(end + 4);
    let header = t.slice(0, end).replace(/^Content-Type:[^\r\n]*(\r\n[ \t][^\r\n]*)*/im, '');
    for (let d = depth; d > 0; d--) {
      body = `Content-Type: multipart/mixed; boundary="n${d}"\r\n\r\n--n${d}\r\n${body}\r\n--n${d}--\r\n`;
    }
    header = header.replace(/\r\n$/, '');
    return `${header}\r\n${body}`;
  },
  'armor-damage': (t, r) => {
    const begin = t.indexOf('-----BEGIN PGP ');
    if (begin === -1) return t.replace(/\r\n\r\n/, `\r\n\r\n${damagedKey(r)}\r\n`);
    const endAt = t.indexOf('-----END PGP ', begin);
    const stop = endAt === -1 ? t.length : endAt;
    const block = t.slice(begin, stop).split('\r\n');
    switch (int(r, 0, 4)) {
      case 0:
        for (let k = int(r, 1, 6); k > 0; k--) {
          const li = int(r, 1, Math.max(1, block.length - 1));
          const line = block[li] ?? '';
          if (line.length === 0) continue;
          const at = int(r, 0, line.length - 1);
          block[li] = line.slice(0, at) + pick(r, ['A', '/', '+', '=', '!', '']) + line.slice(at + 1);
        }
        break;
      case 1:
        block.splice(int(r, 1, Math.max(1, block.length - 1)), int(r, 1, 5)); // lines dropped
        break;
      case 2:
        return t.slice(0, stop) + t.slice(stop).replace(/-----END PGP [^\r\n]*/, ''); // no END line
      case 3:
        block.splice(1, 0, ...Array.from({ length: int(r, 2, 2000) }, () => block[0] ?? '')); // BEGIN repeated
        break;
      default:
        for (const [li, line] of block.entries()) if (line.startsWith('=')) block[li] = '=AAAA'; // checksum
    }
    return t.slice(0, begin) + block.join('\r\n') + t.slice(stop);
  },
  splice: (t, r, seeds) => {
    const other = pick(r, seeds);
    return t.slice(0, int(r, 0, t.length)) + other.slice(int(r, 0, other.length));
  },
};

const KEY_FILES = readdirSync(KEYS_DIR).filter((f) => f.endsWith('.pub.asc'));

/** An armored test key with a few characters changed, as a body would carry one. */
function damagedKey(r: Rand): string {
  const key = readFileSync(join(KEYS_DIR, pick(r, KEY_FILES)), 'latin1').replace(/\r?\n/g, '\r\n');
  const at = int(r, 40, Math.max(40, key.length - 40));
  return key.slice(0, at) + pick(r, ['A', 'z', '', '==', '\r\n']) + key.slice(at + 1);
}

function loadSeeds(): string[] {
  const mails = readdirSync(MAIL_DIR)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => readFileSync(join(MAIL_DIR, f), 'latin1'));
  const keys = KEY_FILES.map(
    (f) =>
      `From: Key Sender <reporter2@psirt.test>\r\nSubject: my key\r\nMessage-ID: <key-${f}@fuzz>\r\nContent-Type: application/pgp-keys\r\n\r\n${readFileSync(join(KEYS_DIR, f), 'latin1').replace(/\r?\n/g, '\r\n')}`,
  );
  return [...mails, ...keys];
}

/** Input `index` of a run: a seed and the names of the mutations applied to it. */
export function fuzzInput(
  seed: number,
  index: number,
  seeds: readonly string[],
): { raw: Buffer; mutations: string[] } {
  const r = inputPrng(seed, index);
  let text = pick(r, seeds);
  const names = Object.keys(MUTATIONS);
  const mutations: string[] = [];
  for (let k = int(r, 1, 3); k > 0; k--) {
    const name = pick(r, names);
    mutations.push(name);
    text = (MUTATIONS[name] as Mutation)(text, r, seeds);
  }
  return { raw: Buffer.from(text, 'latin1'), mutations };
}

const EMPTY_INDEX: ThreadIndex = {
  caseByMessageId: new Map(),
  participantsByCase: new Map(),
  sameMessageId: null,
  bouncedOutbox: null,
};
const CTX: ClassifyContext = {
  ourAddresses: ['security@psirt.test'],
  staffAddresses: ['alice@psirt.test', 'bob@psirt.test', 'carol@psirt.test'],
  caseIdPattern: 'SEC-\\d{4}-\\d{4,}',
};

/** What the pipeline does with one mail before the case store: scan, decode, classify, subject. */
async function runDecodePath(raw: Buffer, deps: DecodeDeps): Promise<'decoded' | 'unparseable'> {
  scanRawHeaders(raw);
  let decoded;
  try {
    decoded = await decodeMessage(raw, deps);
  } catch (err) {
    // Documented: mail mailparser cannot parse at all becomes a case flagged corrupt.
    if (err instanceof PsirtError && err.code === 'mime_unparseable') return 'unparseable';
    throw err;
  }
  classify(decoded, EMPTY_INDEX, CTX);
  replySubject('SEC-2026-0001', decoded.subject, CTX.caseIdPattern);
  return 'decoded';
}

/** Fixed hostile probes, timed: the figures the README quotes. */
const PROBES: { name: string; raw: () => Buffer }[] = [
  {
    name: '200 KB From: without @',
    raw: () =>
      Buffer.from(`From: ${'a'.repeat(200 * KB)}\r\nSubject: x\r\nMessage-ID: <p1@fuzz>\r\n\r\nbody\r\n`),
  },
  {
    name: '160-byte multipart, last part with an empty Content-Type:',
    raw: () =>
      Buffer.from(
        'From: a@b.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhi\r\n--b\r\nContent-Type:\r\n\r\nx\r\n--b--\r\n',
      ),
  },
  {
    name: '200 KB Subject: of words and slashes',
    raw: () => Buffer.from(`From: a@b.test\r\nSubject: ${'a /b '.repeat(40 * KB)}\r\n\r\nbody\r\n`),
  },
  {
    name: '1 MB body of BEGIN PGP MESSAGE lines',
    raw: () => Buffer.from(`From: a@b.test\r\n\r\n${'-----BEGIN PGP MESSAGE-----\r\n'.repeat(36 * KB)}`),
  },
];

/** Runs the fuzzer; never throws for a finding (they are in the report). */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const seeds = loadSeeds();
  const deps = decodeOptions(
    { pgp: { max_decompressed_bytes: 10 << 20 } },
    [await teamKey()],
    fixedClock(NOW),
    ['reporter1', 'reporter2', 'reporter3', 'alice'].map((k) =>
      publicKey(k as 'reporter1' | 'reporter2' | 'reporter3' | 'alice'),
    ),
  );
  const report: FuzzReport = {
    seed: opts.seed,
    n: opts.n,
    escapes: [],
    slow: [],
    slowest: [],
    probes: [],
    peakRssBytes: 0,
    peakHeapBytes: 0,
    durationMs: 0,
    unparseable: 0,
  };
  const sampleMemory = () => {
    const m = process.memoryUsage();
    report.peakRssBytes = Math.max(report.peakRssBytes, m.rss);
    report.peakHeapBytes = Math.max(report.peakHeapBytes, m.heapUsed);
  };
  // A throw outside any promise (a stream or timer callback) would kill the pipeline's process;
  // here it is caught and charged to the input being decoded.
  let current: { index: number; mutations: string[]; raw: Buffer } | null = null;
  const stray: { error: string; index: number | null }[] = [];
  let abandon: ((err: Error) => void) | null = null;
  const onStray = (err: unknown) => {
    stray.push({ error: describe(err), index: current?.index ?? null });
    // The decode whose handler threw may never settle now: stop waiting for it.
    abandon?.(new Error(`outside any promise: ${describe(err)}`));
  };
  // A decode that never settles (its stream died in a handler) would otherwise let node exit
  // silently with code 0 once nothing else is pending: it is an escape after hangMs.
  const hangMs = Math.max(60_000, opts.slowMs * 12);
  const decodeGuarded = (raw: Buffer): Promise<'decoded' | 'unparseable'> =>
    new Promise((resolve, reject) => {
      abandon = reject;
      const timer = setTimeout(() => {
        reject(new Error(`decode never settled within ${hangMs} ms`));
      }, hangMs);
      runDecodePath(raw, deps)
        .then(resolve, reject)
        .finally(() => {
          clearTimeout(timer);
        });
    });
  process.on('uncaughtException', onStray);
  process.on('unhandledRejection', onStray);
  try {
    for (const probe of opts.only === undefined ? PROBES : []) {
      const t0 = performance.now();
      const raw = probe.raw();
      const error = await decodeGuarded(raw).then(
        () => undefined,
        (err: unknown) => describe(err),
      );
      const ms = performance.now() - t0;
      report.probes.push({ name: probe.name, ms });
      if (ms > opts.slowMs)
        report.slow.push({
          index: -1,
          mutations: [`probe: ${probe.name}`],
          kind: 'slow',
          ms,
          bytes: raw.length,
          saved: save(opts, 'slow-probe', report.probes.length, raw, undefined),
        });
      if (error !== undefined)
        report.escapes.push({
          index: -1,
          mutations: [`probe: ${probe.name}`],
          kind: 'escape',
          error,
          ms,
          bytes: raw.length,
          saved: save(opts, 'escape-probe', report.probes.length, raw, error),
        });
    }
    const first = opts.only ?? 0;
    const last = opts.only ?? opts.n - 1;
    let lastProgress = performance.now();
    for (let index = first; index <= last; index++) {
      const { raw, mutations } = fuzzInput(opts.seed, index, seeds);
      current = { index, mutations, raw };
      const strayBefore = stray.length;
      const t0 = performance.now();
      let error: string | undefined;
      try {
        if ((await decodeGuarded(raw)) === 'unparseable') report.unparseable += 1;
      } catch (err) {
        error = describe(err);
      }
      // Let callbacks queued by this input run while it is still "current".
      await new Promise((resolve) => setImmediate(resolve));
      const ms = performance.now() - t0;
      if (error === undefined && stray.length > strayBefore)
        error = `outside any promise: ${stray[strayBefore]?.error ?? ''}`;
      sampleMemory();
      const finding = (kind: 'escape' | 'slow'): FuzzFinding => ({
        index,
        mutations,
        kind,
        ...(error === undefined ? {} : { error }),
        ms,
        bytes: raw.length,
        saved: save(opts, kind, index, raw, error),
      });
      if (error !== undefined) report.escapes.push(finding('escape'));
      if (ms > opts.slowMs) report.slow.push(finding('slow'));
      report.slowest.push({ index, ms, bytes: raw.length, mutations });
      if (report.slowest.length > 50) {
        report.slowest.sort((a, b) => b.ms - a.ms);
        report.slowest.length = 5;
      }
      const now = performance.now();
      if (opts.progressMs !== undefined && opts.progressMs > 0 && now - lastProgress >= opts.progressMs) {
        lastProgress = now;
        const done = index - first + 1;
        const rate = done / ((now - started) / 1000);
        process.stderr.write(
          `fuzz: ${done}/${last - first + 1} inputs, ${rate.toFixed(0)}/s, ${report.escapes.length} escapes, ${report.slow.length} slow, rss ${mb(report.peakRssBytes)}\n`,
        );
      }
    }
  } finally {
    current = null;
    process.off('uncaughtException', onStray);
    process.off('unhandledRejection', onStray);
  }
  report.slowest.sort((a, b) => b.ms - a.ms);
  report.slowest.length = Math.min(report.slowest.length, 5);
  report.durationMs = performance.now() - started;
  return report;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err).slice(0, 300);
}

function save(
  opts: FuzzOptions,
  kind: string,
  index: number,
  raw: Buffer,
  error: string | undefined,
): string | null {
  if (opts.outDir === null) return null;
  mkdirSync(opts.outDir, { recursive: true });
  const base = join(opts.outDir, `${kind}-seed${opts.seed}-i${index}`);
  writeFileSync(`${base}.eml`, raw);
  writeFileSync(
    `${base}.txt`,
    `${error ?? kind}\nreplay: npm run fuzz -- --seed ${opts.seed} --only ${index}\n`,
  );
  return `${base}.eml`;
}

const mb = (bytes: number): string => `${(bytes / (1 << 20)).toFixed(0)} MB`;

function parseArgs(argv: readonly string[]): FuzzOptions {
  const opts: FuzzOptions = {
    n: 2000,
    seed: Math.floor(Math.random() * 2 ** 31),
    slowMs: 5000,
    outDir: join(REPO, 'fuzz-findings'),
    progressMs: 2000,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const num = Number(value);
    if (flag === '--n' && Number.isInteger(num) && num > 0) opts.n = num;
    else if (flag === '--seed' && Number.isInteger(num)) opts.seed = num;
    else if (flag === '--slow-ms' && num > 0) opts.slowMs = num;
    else if (flag === '--only' && Number.isInteger(num) && num >= 0) opts.only = num;
    else if (flag === '--out' && value !== undefined) opts.outDir = value;
    else throw new Error(`unknown or invalid option ${flag ?? ''} ${value ?? ''}`);
    i += 1;
  }
  return opts;
}

async function main(): Promise<number> {
  let opts: FuzzOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(
      `fuzz: ${describe(err)}\nusage: npm run fuzz -- [--n N] [--seed S] [--slow-ms MS] [--out DIR] [--only I]\n`,
    );
    return 2;
  }
  process.stdout.write(
    `fuzz: seed ${opts.seed}, ${opts.only === undefined ? `${opts.n} inputs` : `input ${opts.only} only`}, slow over ${opts.slowMs} ms\n`,
  );
  const r = await runFuzz(opts);
  const lines = [
    `fuzz: seed ${r.seed}: ${opts.only === undefined ? r.n : 1} inputs in ${(r.durationMs / 1000).toFixed(1)} s`,
    `  escapes: ${r.escapes.length}   slow (> ${opts.slowMs} ms): ${r.slow.length}   unparseable (filed as corrupt, by design): ${r.unparseable}`,
    `  peak memory: rss ${mb(r.peakRssBytes)}, heap ${mb(r.peakHeapBytes)}`,
    '  probes:',
    ...r.probes.map((p) => `    ${p.ms.toFixed(1).padStart(8)} ms  ${p.name}`),
    '  slowest inputs:',
    ...r.slowest.map(
      (s) =>
        `    ${s.ms.toFixed(1).padStart(8)} ms  #${s.index}  ${(s.bytes / KB).toFixed(0)} KB  ${s.mutations.join(' + ')}`,
    ),
    ...[...r.escapes, ...r.slow].map(
      (f) =>
        `  ${f.kind.toUpperCase()} #${f.index} (${f.mutations.join(' + ')}): ${f.error ?? `${f.ms.toFixed(0)} ms`}${f.saved === null ? '' : ` → ${f.saved}`}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return r.escapes.length > 0 || r.slow.length > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`fuzz: ${describe(err)}\n`);
      process.exit(2);
    },
  );
}

import { createHash } from 'node:crypto';
import type { DNSResolver } from 'mailauth';
import { domainOfAddress, isAligned, quoteForReason } from './auth-results.js';

/**
 * Looks up DNS records; `dns.promises.resolve` fits. Only TXT lookups are made, and the answer must have the
 * shape of `dns.promises.resolveTxt` (`string[][]`, chunks of one record per inner array) or `string[]`;
 * anything else counts as a DNS failure.
 */
export type DnsResolver = (name: string, rrtype: string) => Promise<unknown>;

export type DkimVerdict =
  | {
      state: 'pass';
      /** The d= domain, lower-cased. */
      domain: string;
      selector: string;
      /** The h= list as written, lower-cased, in order (a name twice when over-signed). */
      signedHeaders: string[];
      /** Hex SHA-256 of the decoded b= signature bytes: the replay key (same as mailauth's result id). */
      signatureDigest: string;
      /** ISO 8601 from t=, or null without t=. */
      signedAt: string | null;
    }
  | { state: 'fail'; reason: string }
  | { state: 'none' };

export interface VerifyDkimOptions {
  /** Defaults to the system resolver (mailauth uses `dns.promises.resolve`). */
  resolver?: DnsResolver;
  /** Shortest accepted RSA key; mailauth's default is 1024 (the floor of RFC 8301 §3.2). */
  minBitLength?: number;
  /** The time x= and t= are checked against; defaults to now. */
  now?: Date;
}

/** Header fields a signature must cover: commands are read from the Subject, replays detected by Message-ID. */
const REQUIRED_SIGNED = ['from', 'subject', 'date', 'message-id'] as const;
const DISPLAY: Record<(typeof REQUIRED_SIGNED)[number], string> = {
  from: 'From',
  subject: 'Subject',
  date: 'Date',
  'message-id': 'Message-ID',
};
/**
 * A t= this far ahead of `now` is still accepted: clocks drift, and mailauth rounds t= up to the second.
 * The same allowance as MAX_CLOCK_SKEW_MS in staff-auth.ts.
 */
const FUTURE_SKEW_MS = 5 * 60 * 1000;

/** What we read from one mailauth result; the shipped typings name several of these fields differently. */
interface SignatureResult {
  result: string;
  comment: string;
  domain: string;
  selector: string;
  signature: string;
  algo: string;
  signTime: string | null;
  expiresAfter: string | null;
  bodyLengthLimited: boolean;
}

type Outcome =
  { ok: true; verdict: DkimVerdict & { state: 'pass' } } | { ok: false; reason: string; rank: number };

function read(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null ? (Reflect.get(obj, key) as unknown) : undefined;
}

function readString(obj: unknown, key: string): string {
  const v = read(obj, key);
  return typeof v === 'string' ? v : '';
}

function readResult(raw: unknown): SignatureResult | null {
  const status = read(raw, 'status');
  const signature = readString(raw, 'signature');
  if (signature === '') return null; // the placeholder result "message not signed"
  const signTime = readString(raw, 'signTime');
  const expiresAfter = readString(raw, 'expiresAfter');
  return {
    result: readString(status, 'result'),
    comment: readString(status, 'comment'),
    domain: readString(raw, 'signingDomain').toLowerCase(),
    selector: readString(raw, 'selector'),
    signature,
    algo: readString(raw, 'algo').toLowerCase(),
    signTime: signTime === '' ? null : signTime,
    expiresAfter: expiresAfter === '' ? null : expiresAfter,
    bodyLengthLimited: read(raw, 'canonBodyLengthLimited') === true,
  };
}

/** The tags of a DKIM-Signature value (RFC 6376 §3.2), names lower-cased, white space removed from values. */
function parseTags(value: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    if (name !== '' && !tags.has(name)) tags.set(name, part.slice(eq + 1).replace(/\s+/g, ''));
  }
  return tags;
}

/** The header fields as mailauth split them: names lower-cased, values unfolded after the colon. */
function readHeaders(out: unknown): { name: string; value: string }[] {
  const parsed = read(read(out, 'headers'), 'parsed');
  if (!Array.isArray(parsed)) return [];
  return parsed.map((h: unknown) => {
    const name = readString(h, 'key').toLowerCase();
    const line = read(h, 'line');
    const text = Buffer.isBuffer(line) ? line.toString('latin1') : typeof line === 'string' ? line : '';
    return { name, value: text.slice(text.indexOf(':') + 1) };
  });
}

function isTxtAnswer(answer: unknown): answer is string[][] | string[] {
  const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((c) => typeof c === 'string');
  return isStrings(answer) || (Array.isArray(answer) && answer.every(isStrings));
}

function toMailauthResolver(resolve: DnsResolver): DNSResolver {
  return async (name, rrtype) => {
    const answer = await resolve(name, rrtype);
    if (isTxtAnswer(answer)) return answer;
    throw Object.assign(new Error('the resolver returned an answer of an unexpected shape'), {
      code: 'EBADRESP',
    });
  };
}

/** A short reason for a signature that did not verify; `rank` orders reasons by how far the signature got. */
function unverified(r: SignatureResult, minBitLength: number | undefined): { reason: string; rank: number } {
  const where = quoteForReason(`${r.selector}._domainkey.${r.domain}`);
  switch (r.comment) {
    case 'body hash did not verify':
      return { reason: 'the body was changed after signing (DKIM body hash mismatch)', rank: 2 };
    case 'bad signature':
      return { reason: 'the DKIM signature does not verify (a signed header was changed)', rank: 2 };
    case 'expired':
      return { reason: 'the DKIM signature has expired (x=)', rank: 2 };
    case 'invalid expiration':
      return { reason: 'the DKIM signature expires before it was made (x= before t=)', rank: 2 };
    case 'no key':
      return { reason: `no DKIM key is published at ${where}`, rank: 1 };
    case 'unknown key version':
    case 'unknown key type':
    case 'invalid public key':
      return { reason: `the DKIM key at ${where} is not usable (${r.comment})`, rank: 1 };
    default:
      if (r.result === 'policy') {
        return { reason: `the DKIM key at ${where} is shorter than ${minBitLength ?? 1024} bits`, rank: 1 };
      }
      if (r.result === 'temperror')
        return { reason: `the DNS lookup of the DKIM key at ${where} failed`, rank: 1 };
      return {
        reason: `DKIM ${quoteForReason(r.result)} for the signature by ${quoteForReason(r.domain)}`,
        rank: 1,
      };
  }
}

interface Context {
  fromDomain: string;
  /** How often each header field occurs in the message. */
  counts: Map<string, number>;
  /** DKIM-Signature tags by b= value. */
  tagsBySignature: Map<string, Map<string, string>>;
  now: Date;
  minBitLength: number | undefined;
}

/**
 * Checks one mailauth result against our rules; the numbered checks below run in order and the first
 * failure is the reason. Ranks: 3 verified but unacceptable, 2 did not verify, 1 key or DNS trouble.
 */
function evaluate(r: SignatureResult, ctx: Context): Outcome {
  const by = quoteForReason(r.domain);
  // 1. The signature verified: mailauth says pass (it turns an expired x= into neutral "expired").
  if (r.result !== 'pass') return { ok: false, ...unverified(r, ctx.minBitLength) };
  // 2. RFC 8301 §3.1: verifiers must not accept rsa-sha1.
  if (r.algo.endsWith('-sha1'))
    return { ok: false, reason: 'rsa-sha1 DKIM signatures are not accepted (RFC 8301)', rank: 3 };
  // 3. The signer vouches for the From domain.
  if (!isAligned(ctx.fromDomain, r.domain)) {
    const from = quoteForReason(ctx.fromDomain);
    return {
      ok: false,
      reason: `the DKIM signature by ${by} is not aligned with the From domain ${from}`,
      rank: 3,
    };
  }
  const tags = ctx.tagsBySignature.get(r.signature);
  if (tags === undefined)
    return { ok: false, reason: 'the DKIM-Signature header could not be read back', rank: 3 };
  // 4. RFC 6376 §8.2: with l= anyone can append content (here: a command) below the signed part.
  if (r.bodyLengthLimited || tags.has('l')) {
    return { ok: false, reason: `the DKIM signature by ${by} covers only part of the body (l=)`, rank: 3 };
  }
  // 5. The headers we act on are signed, and every instance of them (RFC 6376 §8.15): an extra unsigned
  //    Subject above the signed one would otherwise be the one a mail parser reads.
  const signed = (tags.get('h') ?? '')
    .split(':')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  const missing = REQUIRED_SIGNED.filter((h) => !signed.includes(h));
  if (missing.length > 0) {
    const names = missing.map((h) => DISPLAY[h]).join(', ');
    return {
      ok: false,
      reason: `the DKIM signature by ${by} does not cover ${names} (h=): commands are read from the Subject and replays are detected by Message-ID`,
      rank: 3,
    };
  }
  const unsigned = REQUIRED_SIGNED.filter(
    (h) => (ctx.counts.get(h) ?? 0) > signed.filter((s) => s === h).length,
  );
  if (unsigned.length > 0) {
    const names = unsigned.map((h) => DISPLAY[h]).join(', ');
    return {
      ok: false,
      reason: `the message has more ${names} headers than the DKIM signature covers`,
      rank: 3,
    };
  }
  // 6. Time: not expired (checked again here, whatever mailauth did), not dated in the future.
  if (r.expiresAfter !== null && Date.parse(r.expiresAfter) < ctx.now.getTime()) {
    return { ok: false, reason: 'the DKIM signature has expired (x=)', rank: 2 };
  }
  if (r.signTime !== null && Date.parse(r.signTime) > ctx.now.getTime() + FUTURE_SKEW_MS) {
    return { ok: false, reason: 'the DKIM signature is dated in the future (t=)', rank: 2 };
  }
  return {
    ok: true,
    verdict: {
      state: 'pass',
      domain: r.domain,
      selector: r.selector,
      signedHeaders: signed,
      signatureDigest: createHash('sha256').update(Buffer.from(r.signature, 'base64')).digest('hex'),
      signedAt: r.signTime,
    },
  };
}

/**
 * Verifies the DKIM signatures of a raw message with mailauth and decides whether one of them authenticates
 * the From address. Never throws: a message mailauth cannot process is a fail.
 *
 * - `none`: the message has no DKIM-Signature header.
 * - `pass`: the first signature that verifies, is aligned with the From domain ({@link isAligned}; mailauth's
 *   own `aligned` uses a public-suffix list and is more lenient), is not rsa-sha1, has no l=, covers From,
 *   Subject, Date and Message-ID (each as often as it occurs), and is neither expired nor dated in the future.
 * - `fail`: otherwise, with the reason of the signature that got furthest; reasons never quote message
 *   content beyond a domain or selector.
 *
 * NB! mailauth 4.13.3 `console.log`s two numbers (`TOTAL n EXPECTING m`) to stdout when a signature has an
 * l= longer than the body — anyone who can mail us can trigger it, and a stray line would break the
 * JSON log on stdout. That one line is dropped while mailauth runs (`withoutMailauthDebugLine`).
 */
/** Runs `fn` with console.log dropping mailauth's `TOTAL … EXPECTING …` debug line (and only it). */
async function withoutMailauthDebugLine<T>(fn: () => Promise<T>): Promise<T> {
  const original = console.log;
  console.log = (...args: unknown[]): void => {
    if (args[0] === 'TOTAL' && args[2] === 'EXPECTING') return;
    original(...args);
  };
  try {
    return await fn();
  } finally {
    console.log = original;
  }
}

export async function verifyDkim(
  raw: Buffer,
  fromAddress: string,
  opts: VerifyDkimOptions,
): Promise<DkimVerdict> {
  const now = opts.now ?? new Date();
  let out: unknown;
  try {
    // Loaded on the first staff mail to check (#16): mailauth and its DNS and crypto helpers
    // weigh ~30 MB that a service seldom needs.
    const { dkimVerify } = await import('mailauth/lib/dkim/verify.js');
    out = await withoutMailauthDebugLine(() =>
      dkimVerify(raw, {
        curTime: now,
        ...(opts.resolver === undefined ? {} : { resolver: toMailauthResolver(opts.resolver) }),
        ...(opts.minBitLength === undefined ? {} : { minBitLength: opts.minBitLength }),
      }),
    );
  } catch (err) {
    // mailauth throws on some malformed input (a t= beyond the Date range raises a RangeError).
    const kind = err instanceof Error ? err.name : typeof err;
    return { state: 'fail', reason: `the message could not be checked for DKIM (${kind})` };
  }
  const headers = readHeaders(out);
  const signatureHeaders = headers.filter((h) => h.name === 'dkim-signature');
  if (signatureHeaders.length === 0) return { state: 'none' };

  const fromDomain = domainOfAddress(fromAddress);
  if (fromDomain === null) return { state: 'fail', reason: 'the From address has no domain' };
  const headerFrom = read(out, 'headerFrom');
  const fromAddresses = Array.isArray(headerFrom) ? headerFrom.filter((a) => typeof a === 'string') : [];
  const given = (/<([^<>]*)>/.exec(fromAddress)?.[1] ?? fromAddress).trim().toLowerCase();
  if (fromAddresses.length !== 1 || fromAddresses[0]?.toLowerCase() !== given) {
    return { state: 'fail', reason: 'the From: header does not hold exactly the given From address' };
  }

  const counts = new Map<string, number>();
  for (const h of headers) counts.set(h.name, (counts.get(h.name) ?? 0) + 1);
  const tagsBySignature = new Map<string, Map<string, string>>();
  for (const h of signatureHeaders) {
    const tags = parseTags(h.value);
    const b = tags.get('b');
    if (b !== undefined && !tagsBySignature.has(b)) tagsBySignature.set(b, tags);
  }
  const ctx: Context = { fromDomain, counts, tagsBySignature, now, minBitLength: opts.minBitLength };

  const results = read(out, 'results');
  let best: { reason: string; rank: number } | null = null;
  for (const raw of Array.isArray(results) ? (results as unknown[]) : []) {
    const r = readResult(raw);
    if (r === null) continue;
    const outcome = evaluate(r, ctx);
    if (outcome.ok) return outcome.verdict;
    if (best === null || outcome.rank > best.rank) best = outcome;
  }
  // mailauth skips a signature it cannot use at all (unknown a= or c=, no d= or s=) without a result.
  return {
    state: 'fail',
    reason: best?.reason ?? 'no usable DKIM signature (unsupported algorithm or missing d=/s=)',
  };
}

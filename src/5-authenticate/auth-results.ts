/** One resinfo of an Authentication-Results header (RFC 8601 §2.2), e.g. `dkim=pass header.d=example.org`. */
export interface AuthResult {
  /** Lower-cased, without a method version (`dkim/1` → `dkim`). */
  method: string;
  /** Lower-cased: `pass`, `fail`, `none`, `neutral`, `temperror`, … */
  result: string;
  /**
   * `ptype.property` keys lower-cased (`header.d`, `header.i`, `header.from`, `smtp.mailfrom`), values as written
   * with quotes removed. A `reason=` (RFC 8601 §2.2) is kept under the key `reason`; non-standard keys without a
   * dot (Microsoft's `action=`) are kept as they come. The first of a repeated key wins.
   */
  props: Record<string, string>;
}

export interface AuthResultsHeader {
  /** Lower-cased. */
  authservId: string;
  /** Empty for `authserv-id; none`. */
  results: AuthResult[];
}

export type TrustedDkim =
  { state: 'pass'; domain: string; authservId: string } | { state: 'fail'; reason: string };

type Token =
  { kind: 'word' | 'quoted'; text: string; spaceBefore: boolean } | { kind: ';' | '='; spaceBefore: boolean };

/**
 * Splits a header value into words, quoted strings, `;` and `=`. Comments (RFC 5322 §3.2.2, nested, with
 * quoted-pairs) count as white space, so the `;` and `=` inside `(sender IP is 192.0.2.1; p=NONE)` are dropped.
 * Returns null on an unterminated comment or quoted string.
 */
function tokenize(value: string): Token[] | null {
  const tokens: Token[] = [];
  let spaceBefore = false;
  let i = 0;
  while (i < value.length) {
    const c = value.charAt(i);
    if (/\s/.test(c)) {
      spaceBefore = true;
      i += 1;
    } else if (c === '(') {
      let depth = 0;
      for (; i < value.length; i += 1) {
        const d = value.charAt(i);
        if (d === '\\') i += 1;
        else if (d === '(') depth += 1;
        else if (d === ')' && --depth === 0) break;
      }
      if (depth !== 0) return null;
      spaceBefore = true;
      i += 1;
    } else if (c === '"') {
      let text = '';
      let closed = false;
      for (i += 1; i < value.length; i += 1) {
        const d = value.charAt(i);
        if (d === '\\' && i + 1 < value.length) text += value.charAt(++i);
        else if (d === '"') {
          closed = true;
          break;
        } else text += d;
      }
      if (!closed) return null;
      tokens.push({ kind: 'quoted', text, spaceBefore });
      spaceBefore = false;
      i += 1;
    } else if (c === ';' || c === '=') {
      tokens.push({ kind: c, spaceBefore });
      spaceBefore = false;
      i += 1;
    } else {
      // A word runs to the next blank or special character: a loop, not a pattern over the rest.
      let j = i;
      while (j < value.length && !WORD_END.test(value.charAt(j))) j += 1;
      const text = j > i ? value.slice(i, j) : c;
      tokens.push({ kind: 'word', text, spaceBefore });
      spaceBefore = false;
      i += text.length;
    }
  }
  return tokens;
}

const isText = (t: Token | undefined): t is Token & { kind: 'word' | 'quoted' } =>
  t?.kind === 'word' || t?.kind === 'quoted';

const KEYWORD = /^[a-z0-9-]+$/i;
/** What ends a word token (tested on one character at a time). */
const WORD_END = /[\s()";=]/;

/** Parses one resinfo's tokens (between two `;`): `method=result [reason=…] [ptype.property=value …]`. */
function parseResinfo(tokens: readonly Token[]): AuthResult | null {
  const pairs: [string, string][] = [];
  let i = 0;
  while (i < tokens.length) {
    // The key may be split by CFWS around "." or "/" (`header . d`, `dkim / 1`): join its words.
    let key = '';
    for (let t = tokens[i]; t?.kind === 'word'; t = tokens[++i]) {
      if (key !== '' && !/[./]$/.test(key) && !/^[./]/.test(t.text)) return null;
      key += t.text;
    }
    if (key === '' || tokens[i]?.kind !== '=') return null;
    i += 1;
    // A value is one word or quoted string, or several written without a space (`"a b"@example.org`).
    const first = tokens[i];
    if (!isText(first)) return null;
    let val = first.text;
    for (let t = tokens[++i]; isText(t) && !t.spaceBefore; t = tokens[++i]) val += t.text;
    pairs.push([key, val]);
  }
  const [head, ...rest] = pairs;
  if (head === undefined) return null;
  const method = head[0].toLowerCase().split('/')[0] ?? '';
  // RFC 8601 §2.2: method and result are Keywords (letters, digits, "-").
  if (!KEYWORD.test(method) || !KEYWORD.test(head[1])) return null;
  const props = new Map<string, string>();
  for (const [k, v] of rest) {
    const key = k.toLowerCase();
    if (!props.has(key)) props.set(key, v);
  }
  // Object.fromEntries defines own properties, so a key like "__proto__" cannot touch the prototype.
  return { method, result: head[1].toLowerCase(), props: Object.fromEntries(props) };
}

/**
 * Parses an RFC 8601 Authentication-Results header value (without the field name):
 * `authserv-id [version] ( "; none" / 1*( ";" resinfo ) )`. Handles comments (nested), quoted strings, the
 * version after the authserv-id (`mx.example.org 1;`), `none`, `reason=` and method versions (`dkim/1`).
 * Returns null when the value does not follow the grammar, including a header without an authserv-id
 * (Exchange Online writes `spf=pass …` straight away): such a header proves nothing.
 */
export function parseAuthenticationResults(value: string): AuthResultsHeader | null {
  const tokens = tokenize(value);
  if (tokens === null) return null;
  const [id, ...rest] = tokens;
  if (!isText(id) || id.text === '') return null;
  let i = 0;
  const version = rest[0];
  if (version?.kind === 'word' && /^\d+$/.test(version.text)) i = 1;
  if (rest[i]?.kind !== ';') return null;
  const results: AuthResult[] = [];
  let group: Token[] = [];
  const groups: Token[][] = [];
  for (const t of rest.slice(i + 1)) {
    if (t.kind === ';') {
      groups.push(group);
      group = [];
    } else group.push(t);
  }
  groups.push(group);
  for (const g of groups) {
    const [only] = g;
    if (g.length === 0) continue; // a trailing ";" is common and harmless
    if (g.length === 1 && only?.kind === 'word' && only.text.toLowerCase() === 'none') continue;
    const parsed = parseResinfo(g);
    if (parsed === null) return null;
    results.push(parsed);
  }
  return { authservId: id.text.toLowerCase(), results };
}

function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * Whether a DKIM signing domain (d=) vouches for a From: domain, under a relaxed rule in the spirit of DMARC
 * (RFC 7489 §3.1.1) but without a public-suffix list: the domains are equal, or the From domain is a subdomain
 * of the DKIM domain (`alice@mail.example.org` with d=example.org aligns; `alice@example.org` with
 * d=mail.example.org does not). A single-label DKIM domain (`org`, `localhost`) never aligns. Case-insensitive;
 * one trailing dot is ignored.
 *
 * NB! Without a public-suffix list, d=co.uk would align with `alice@example.co.uk`. That needs a DKIM key
 * published under the public suffix itself (`s._domainkey.co.uk`), so only the suffix's operator could use it.
 */
export function isAligned(fromDomain: string, dkimDomain: string): boolean {
  const from = normalizeDomain(fromDomain);
  const d = normalizeDomain(dkimDomain);
  if (from === '' || !d.includes('.') || d.split('.').some((label) => label === '')) return false;
  return from === d || from.endsWith(`.${d}`);
}

/** The lower-cased domain of `alice@example.org` or `Alice <alice@example.org>`; null when there is none. */
export function domainOfAddress(address: string): string | null {
  const addr = /<([^<>]*)>/.exec(address)?.[1] ?? address;
  const at = addr.lastIndexOf('@');
  if (at === -1) return null;
  const domain = normalizeDomain(addr.slice(at + 1));
  return domain === '' || /[\s<>@]/.test(domain) ? null : domain;
}

/**
 * Quotes a value taken from a message (an authserv-id, a d= domain) for a failure reason: printable ASCII
 * only, at most 64 characters, so a reason stays short and safe to log.
 */
export function quoteForReason(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > 64 ? `${printable.slice(0, 63)}…` : printable);
}

/**
 * Decides whether the receiving MTA vouched for DKIM on this mail, from its Authentication-Results header.
 *
 * 1. Only the top-most header counts (`headers` are the raw values of every Authentication-Results header,
 *    top-most first): our own MX prepends its header above anything the sender wrote (RFC 8601 §5), so a
 *    trusted authserv-id lower down was written by the sender and proves nothing.
 * 2. That header must parse and its authserv-id must be one of `trustedIds` (case-insensitive).
 * 3. It passes when a `dkim=pass` result has a `header.d` (or, without one, the domain of `header.i`) aligned
 *    with the From domain ({@link isAligned}), or when a `dmarc=pass` result has a `header.from` equal to the
 *    From domain. NB! A DMARC pass may rest on SPF alone, and this path cannot see a signature's h= or l=.
 */
export function trustedDkimFromAuthResults(
  headers: readonly string[],
  trustedIds: readonly string[],
  fromAddress: string,
): TrustedDkim {
  const fromDomain = domainOfAddress(fromAddress);
  if (fromDomain === null) return { state: 'fail', reason: 'the From address has no domain' };
  const top = headers[0];
  if (top === undefined) return { state: 'fail', reason: 'the message has no Authentication-Results header' };
  const parsed = parseAuthenticationResults(top);
  if (parsed === null)
    return { state: 'fail', reason: 'the top-most Authentication-Results header cannot be parsed' };
  const trusted = new Set(trustedIds.map((id) => id.trim().toLowerCase()));
  if (!trusted.has(parsed.authservId)) {
    return {
      state: 'fail',
      reason: `the top-most Authentication-Results is by ${quoteForReason(parsed.authservId)}, not a trusted authserv-id`,
    };
  }
  const authservId = parsed.authservId;
  const dkim = parsed.results.filter((r) => r.method === 'dkim');
  const passedFor: string[] = [];
  for (const r of dkim) {
    if (r.result !== 'pass') continue;
    const headerI = r.props['header.i'];
    const domain = r.props['header.d'] ?? (headerI === undefined ? null : domainOfAddress(headerI));
    if (domain === null) continue;
    if (isAligned(fromDomain, domain)) return { state: 'pass', domain: normalizeDomain(domain), authservId };
    passedFor.push(domain);
  }
  for (const r of parsed.results) {
    const headerFrom = r.props['header.from'];
    if (r.method === 'dmarc' && r.result === 'pass' && headerFrom !== undefined) {
      if (normalizeDomain(headerFrom) === fromDomain)
        return { state: 'pass', domain: fromDomain, authservId };
    }
  }
  const from = quoteForReason(fromDomain);
  if (passedFor.length > 0) {
    const seen = passedFor.map(quoteForReason).join(', ');
    return { state: 'fail', reason: `dkim=pass only for ${seen}, not aligned with the From domain ${from}` };
  }
  if (dkim.length > 0) {
    const seen = [...new Set(dkim.map((r) => `dkim=${r.result}`))].join(', ');
    return {
      state: 'fail',
      reason: `the trusted Authentication-Results says ${seen} for From domain ${from}`,
    };
  }
  return {
    state: 'fail',
    reason: 'the trusted Authentication-Results has no dkim=pass and no aligned dmarc=pass',
  };
}

/**
 * An RFC 9116 (security.txt) checker for the tests, written from the RFC's text rather than from
 * our renderer: §2.2 line endings, §2.1 comments, §2.4 `Name: value` fields, §2.5 the field
 * definitions (Contact at least once, Expires exactly once and an RFC 3339 date-time, web URIs
 * https://, Preferred-Languages at most once), §4 the grammar, and §2.3 the OpenPGP cleartext
 * signature framing (RFC 4880 §7 / RFC 9580 §7), which it strips before checking the fields.
 */

/** The fields RFC 9116 §2.5 defines (§6.4's registry at publication); names are case-insensitive. */
export const RFC9116_FIELDS = [
  'Acknowledgments',
  'Canonical',
  'Contact',
  'Encryption',
  'Expires',
  'Hiring',
  'Policy',
  'Preferred-Languages',
] as const;
export type Rfc9116Field = (typeof RFC9116_FIELDS)[number];

const URI_FIELDS: ReadonlySet<string> = new Set(
  RFC9116_FIELDS.filter((f) => f !== 'Expires' && f !== 'Preferred-Languages'),
);

export interface Rfc9116Report {
  /** One line per violation, naming the line number and the rule. Empty when the file passes. */
  errors: string[];
  /** The field values by their RFC spelling, in file order. */
  fields: Map<Rfc9116Field, string[]>;
  /** Whether the file was cleartext-signed. */
  signed: boolean;
  /** The text the fields were read from (the signed text, without the framing, when signed). */
  body: string;
}

const SIGNED_HEADER = '-----BEGIN PGP SIGNED MESSAGE-----';
const SIGNATURE_BEGIN = '-----BEGIN PGP SIGNATURE-----';
const SIGNATURE_END = '-----END PGP SIGNATURE-----';
/** RFC 3339 §5.6 date-time (the `T` and `Z` may be lowercase, §5.6 NOTE). */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** RFC 5646 Language-Tag, loosely (the renderer's schema is stricter). */
const LANG_TAG = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/;
/** RFC 5322 §3.6.8 field-name: printable US-ASCII except the colon. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
/** RFC 9116 §2.1 / §4 comment content: WSP, VCHAR and %x80-FFFFF. */
const COMMENT = /^#[\t \x21-\x7e\u0080-\u{fffff}]*$/u;

/**
 * Checks `text` as a security.txt read at `now`: Expires must be after `now` and less than a year
 * after it (RFC 9116 §2.5.5 RECOMMENDS less than a year; the service refuses more).
 */
export function checkSecurityTxt(text: string, now: Date): Rfc9116Report {
  const errors: string[] = [];
  let body = text;
  let signed = false;
  if (text.startsWith(SIGNED_HEADER)) {
    signed = true;
    const unwrapped = stripCleartextSignature(text, errors);
    body = unwrapped ?? '';
  }
  const fields = new Map<Rfc9116Field, string[]>();
  if (body !== '' && !body.endsWith('\n')) errors.push('the last line does not end with LF or CRLF (§2.2)');
  const lines = body.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const n = i + 1;
    // §4 eol = *WSP [CR] LF: an optional CR right before the LF, and no other CR anywhere.
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.includes('\r')) errors.push(`line ${n}: a CR that does not end the line (§2.2)`);
    const content = line.replace(/[\t ]+$/, '');
    if (content === '') return;
    if (content.startsWith('#')) {
      if (!COMMENT.test(content)) errors.push(`line ${n}: a comment with characters outside §2.1`);
      return;
    }
    const colon = content.indexOf(':');
    if (colon <= 0 || content[colon + 1] !== ' ') {
      errors.push(`line ${n}: not "Name: value" (§2.4, §4 fs SP)`);
      return;
    }
    const name = content.slice(0, colon);
    const value = content.slice(colon + 2);
    if (!FIELD_NAME.test(name)) {
      errors.push(`line ${n}: "${name}" is not a field name (§2.4)`);
      return;
    }
    const known = RFC9116_FIELDS.find((f) => f.toLowerCase() === name.toLowerCase());
    if (known === undefined) {
      errors.push(`line ${n}: unknown field "${name}"`);
      return;
    }
    if (value.trim() === '') errors.push(`line ${n}: ${known} without a value (§2.4)`);
    fields.set(known, [...(fields.get(known) ?? []), value]);
    checkValue(known, value, n, now, errors);
  });
  const count = (f: Rfc9116Field): number => fields.get(f)?.length ?? 0;
  if (count('Contact') < 1) errors.push('no Contact field (§2.5.3: MUST always be present)');
  if (count('Expires') !== 1) errors.push(`${count('Expires')} Expires fields (§2.5.5: exactly one)`);
  if (count('Preferred-Languages') > 1) errors.push('more than one Preferred-Languages field (§2.5.8)');
  return { errors, fields, signed, body };
}

function checkValue(field: Rfc9116Field, value: string, n: number, now: Date, errors: string[]): void {
  if (field === 'Expires') {
    const m = DATE_TIME.exec(value);
    if (m === null) {
      errors.push(`line ${n}: Expires "${value}" is not an RFC 3339 date-time (§2.5.5)`);
      return;
    }
    const at = new Date(value.toUpperCase());
    const yearAhead = new Date(now.getTime());
    yearAhead.setUTCFullYear(yearAhead.getUTCFullYear() + 1);
    if (Number.isNaN(at.getTime())) errors.push(`line ${n}: Expires "${value}" is not a real date`);
    else if (at.getTime() <= now.getTime()) errors.push(`line ${n}: Expires ${value} is not in the future`);
    else if (at.getTime() >= yearAhead.getTime())
      errors.push(`line ${n}: Expires ${value} is not less than a year ahead (§2.5.5)`);
    return;
  }
  if (field === 'Preferred-Languages') {
    // §4 lang-values = lang-tag *(*WSP "," *WSP lang-tag)
    const tags = value.split(',').map((t) => t.replace(/^[\t ]+|[\t ]+$/g, ''));
    if (tags.some((t) => !LANG_TAG.test(t)))
      errors.push(`line ${n}: Preferred-Languages "${value}" is not a list of language tags (§2.5.8)`);
    return;
  }
  if (URI_FIELDS.has(field)) {
    if (!URL.canParse(value) || /\s/.test(value)) {
      errors.push(`line ${n}: ${field} "${value}" is not a URI (RFC 3986)`);
      return;
    }
    const scheme = new URL(value).protocol;
    // Every field of §2.5 that names a web URI: "it MUST begin with https://".
    if (scheme === 'http:') errors.push(`line ${n}: ${field} is a web URI without https:// (§2.5)`);
    if ((field === 'Canonical' || field === 'Policy') && scheme !== 'https:')
      errors.push(`line ${n}: ${field} "${value}" is not an https:// URL`);
    if (field === 'Contact' && !['mailto:', 'https:', 'tel:'].includes(scheme))
      errors.push(`line ${n}: Contact "${value}" is not a mailto:, tel: or https: URI (§2.5.3)`);
  }
}

/**
 * The signed text of an OpenPGP cleartext signature (RFC 4880 §7, RFC 9580 §7): after the
 * header line and its armor headers ("Hash: …") up to an empty line, dash-escaped lines unescaped,
 * up to the signature block. The line ending right before "-----BEGIN PGP SIGNATURE-----" is
 * framing, not text (§7.1). Line endings inside are kept as they are (openpgp.js writes the
 * signed lines with CRLF, its armor with LF; RFC 9116 §2.2 allows both).
 */
export function stripCleartextSignature(text: string, errors: string[] = []): string | null {
  const lines = text.split('\n');
  const bare = (l: string | undefined): string => (l ?? '').replace(/\r$/, '');
  let i = 1;
  while (i < lines.length && bare(lines[i]) !== '') {
    if (!/^[A-Za-z]+: /.test(bare(lines[i]))) errors.push(`armor header "${bare(lines[i])}" is malformed`);
    i++;
  }
  if (i >= lines.length) {
    errors.push('no empty line after the armor headers');
    return null;
  }
  const begin = lines.findIndex((l, n) => n > i && bare(l) === SIGNATURE_BEGIN);
  const end = lines.findIndex((l, n) => n > begin && bare(l) === SIGNATURE_END);
  if (begin < 0 || end < 0) {
    errors.push('no complete signature block');
    return null;
  }
  if (lines.slice(end + 1).some((l) => bare(l) !== '')) errors.push('text after the signature block');
  const signedLines = lines.slice(i + 1, begin);
  if (signedLines.some((l) => l.startsWith('-') && !l.startsWith('- ')))
    errors.push('a signed line starting with "-" is not dash-escaped');
  return signedLines.map((l) => (l.startsWith('- ') ? l.slice(2) : l)).join('\n');
}

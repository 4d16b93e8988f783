import MimeNode from 'nodemailer/lib/mime-node';

/** OpenPGP operations the composer needs, injected (openpgp is owned by src/pgp). */
export interface Sealer {
  /** Detached signature over `data` with the team key; `micalg` as in RFC 3156 §5 (e.g. pgp-sha512). */
  sign(data: Uint8Array): Promise<{ armored: string; micalg: string }>;
  /** Signed by the team key and encrypted to `recipientKeys` (armored public keys) and the team key. */
  encrypt(data: Uint8Array, recipientKeys: readonly string[]): Promise<string>;
}

export interface OutgoingMail {
  from: { name: string; address: string };
  to: string[];
  replyTo?: string;
  /**
   * The real subject. Encrypted mail carries it only inside the encrypted payload (RFC 9788
   * header protection); it never appears in a clear header of encrypted mail.
   */
  subject: string;
  /**
   * The `Subject:` header everyone on the path sees. For encrypted mail the neutral one (the case
   * tag only, `Re: [SEC-2026-0001] ...`); for signed mail the caller decides (neutral whenever
   * the report came protected).
   */
  outerSubject: string;
  /** Without angle brackets. */
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  /** Extra headers, e.g. Auto-Submitted (RFC 3834). */
  headers: Record<string, string>;
  date: Date;
  text: string;
}

export type Protection = { kind: 'signed' } | { kind: 'encrypted'; recipientKeys: string[] };

/**
 * Turns a rendered mail into its bytes: composeMail with the team's sealer, on this thread or in a
 * compose thread (src/roles/compose-pool.ts, #16). A `PsirtError` with `retryable` means the
 * composer could not answer (a thread died), not that the mail is at fault. `background` mail
 * (staff notifications) waits behind every other mail for a thread.
 */
export type Composer = (
  mail: OutgoingMail,
  protection: Protection,
  opts?: { background?: boolean },
) => Promise<Buffer>;

/** A text/plain part with exact, canonical bytes (CRLF, base64): safe to sign (RFC 3156 §5.1). */
export function textPart(text: string): Buffer {
  const body = Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8').toString('base64');
  const lines = body.match(/.{1,76}/g) ?? [''];
  return Buffer.from(
    `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines.join('\r\n')}`,
    'latin1',
  );
}

const angle = (id: string): string => `<${id}>`;

/** The non-structural header fields of a mail, in order, with `subject` as its Subject. */
function headerFields(
  mail: OutgoingMail,
  subject: string,
): Array<[string, string | { name: string; address: string }]> {
  const fields: Array<[string, string | { name: string; address: string }]> = [
    ['From', { name: mail.from.name, address: mail.from.address }],
    ['To', mail.to.join(', ')],
  ];
  if (mail.replyTo) fields.push(['Reply-To', mail.replyTo]);
  fields.push(['Subject', subject]);
  fields.push(['Date', mail.date.toUTCString().replace('GMT', '+0000')]);
  fields.push(['Message-ID', angle(mail.messageId)]);
  if (mail.inReplyTo) fields.push(['In-Reply-To', angle(mail.inReplyTo)]);
  if (mail.references.length > 0) fields.push(['References', mail.references.map(angle).join(' ')]);
  for (const [k, v] of Object.entries(mail.headers)) fields.push([k, v]);
  return fields;
}

function setHeaders(node: MimeNode, fields: ReturnType<typeof headerFields>): void {
  for (const [k, v] of fields) node.setHeader(k, v);
}

/**
 * The cryptographic payload of an encrypted mail (RFC 9788 §2): the text part, marked
 * `hp="cipher"` and, for Thunderbird and K-9, `protected-headers="v1"`, carrying a copy of every
 * non-structural header field with the real Subject, and one `HP-Outer` field per outer header
 * field (§2.2) so the recipient sees what travelled in clear. No Legacy Display Element: the
 * clients our recipients use render protected headers, and the text itself names the case
 * (decision 0005).
 */
async function protectedPayload(mail: OutgoingMail): Promise<Buffer> {
  const inner = new MimeNode('text/plain; charset=utf-8; protected-headers="v1"; hp="cipher"');
  inner.setHeader('Content-Transfer-Encoding', 'base64');
  setHeaders(inner, headerFields(mail, mail.subject));
  for (const [k, v] of headerFields(mail, mail.outerSubject))
    inner.addHeader('HP-Outer', `${k}: ${typeof v === 'string' ? v : `${v.name} <${v.address}>`}`);
  inner.setContent(mail.text.replace(/\r?\n/g, '\r\n'));
  return inner.build();
}

/**
 * Builds the complete RFC 5322 message: PGP/MIME signed (RFC 3156 §5) when we hold no key for
 * the recipient, PGP/MIME encrypted and signed (§4, §6.2) when we do, with RFC 9788 header
 * protection: the real subject only inside, `mail.outerSubject` outside. Nothing leaves in clear
 * but the headers and, for signed mail, the template text (invariant 6).
 */
export async function composeMail(
  mail: OutgoingMail,
  protection: Protection,
  sealer: Sealer,
): Promise<Buffer> {
  let root: MimeNode;
  if (protection.kind === 'encrypted') {
    const armored = await sealer.encrypt(await protectedPayload(mail), protection.recipientKeys);
    root = new MimeNode('multipart/encrypted; protocol="application/pgp-encrypted"');
    root
      .createChild('application/pgp-encrypted')
      .setHeader('Content-Description', 'PGP/MIME version identification')
      .setContent('Version: 1\r\n');
    root
      .createChild('application/octet-stream; name="encrypted.asc"')
      .setHeader('Content-Description', 'OpenPGP encrypted message')
      .setHeader('Content-Disposition', 'inline; filename="encrypted.asc"')
      .setHeader('Content-Transfer-Encoding', '7bit') // armored ASCII, as RFC 3156 §4 shows it
      .setContent(armored);
  } else {
    const part = textPart(mail.text);
    const { armored, micalg } = await sealer.sign(part);
    root = new MimeNode(`multipart/signed; micalg=${micalg}; protocol="application/pgp-signature"`);
    root.createChild('text/plain').setRaw(part);
    root
      .createChild('application/pgp-signature; name="signature.asc"')
      .setHeader('Content-Description', 'OpenPGP digital signature')
      .setHeader('Content-Disposition', 'attachment; filename="signature.asc"')
      .setHeader('Content-Transfer-Encoding', '7bit')
      .setContent(armored);
  }
  setHeaders(root, headerFields(mail, mail.outerSubject));
  return root.build();
}

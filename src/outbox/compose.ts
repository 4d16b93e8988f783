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
  subject: string;
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

function setHeaders(root: MimeNode, mail: OutgoingMail): void {
  root.setHeader('From', { name: mail.from.name, address: mail.from.address });
  root.setHeader('To', mail.to.join(', '));
  if (mail.replyTo) root.setHeader('Reply-To', mail.replyTo);
  root.setHeader('Subject', mail.subject);
  root.setHeader('Date', mail.date.toUTCString().replace('GMT', '+0000'));
  root.setHeader('Message-ID', angle(mail.messageId));
  if (mail.inReplyTo) root.setHeader('In-Reply-To', angle(mail.inReplyTo));
  if (mail.references.length > 0) root.setHeader('References', mail.references.map(angle).join(' '));
  for (const [k, v] of Object.entries(mail.headers)) root.setHeader(k, v);
}

/**
 * Builds the complete RFC 5322 message: PGP/MIME signed (RFC 3156 §5) when we hold no key for
 * the recipient, PGP/MIME encrypted and signed (§4, §6.2) when we do. Nothing leaves in clear
 * but the headers and, for signed mail, the template text (invariant 6).
 */
export async function composeMail(
  mail: OutgoingMail,
  protection: Protection,
  sealer: Sealer,
): Promise<Buffer> {
  const part = textPart(mail.text);
  let root: MimeNode;
  if (protection.kind === 'encrypted') {
    const armored = await sealer.encrypt(part, protection.recipientKeys);
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
  setHeaders(root, mail);
  return root.build();
}

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEYS, withGpg } from './gpg.js';

/** The team key's user id in the fixture keyring (test/support/make-keys.sh). */
const TEAM_UID = 'security@psirt.test';

/** The first ASCII-armored PGP message in a raw mail (the encrypted part of PGP/MIME). */
export function armoredPart(raw: Buffer): string {
  return (
    /-----BEGIN PGP MESSAGE-----[\s\S]+?-----END PGP MESSAGE-----/.exec(raw.toString('latin1'))?.[0] ?? ''
  );
}

/** Decrypts our PGP/MIME mail with a fixture key; `text` is the decoded body of its inner part. */
export function decryptAs(key: string, raw: Buffer): { text: string; status: string } {
  return withGpg([`${key}.sec`, 'team.pub'], (gpg) => {
    const r = gpg(['--decrypt'], armoredPart(raw));
    const body = r.stdout
      .split(/\r?\n\r?\n/)
      .slice(1)
      .join('\n')
      .replace(/\s+/g, '');
    return { text: Buffer.from(body, 'base64').toString('utf8'), status: r.status };
  });
}

const crlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');

/** Now, as a mail client writes the Date header (RFC 5322 §3.3): signed at the wall clock. */
const rfc5322Date = (): string => new Date().toUTCString().replace('GMT', '+0000');

/** A staff member in the stack (test/stack) whose fixture key signs: alice. */
export const ALICE = { from: 'Alice Tester <alice@psirt.test>', signer: 'alice' } as const;

/**
 * The identity headers of a mail, outer or protected (RFC 9788 copies the same ones inside):
 * From, To (security@ unless told), Subject, Date, Message-ID.
 */
function mailHeaders(h: {
  from: string;
  to?: string | undefined;
  subject: string;
  date: string;
  messageId: string;
}): string[] {
  return [
    `From: ${h.from}`,
    `To: ${h.to ?? 'security@psirt.test'}`,
    `Subject: ${h.subject}`,
    `Date: ${h.date}`,
    `Message-ID: <${h.messageId}>`,
  ];
}

/** In-Reply-To and References (RFC 5322 §3.6.4), each only when given. */
function threadHeaders(inReplyTo: string | undefined, references: readonly string[] = []): string[] {
  return [
    ...(inReplyTo ? [`In-Reply-To: <${inReplyTo}>`] : []),
    ...(references.length > 0 ? [`References: ${references.map((r) => `<${r}>`).join(' ')}`] : []),
  ];
}

/** What every built mail has: who sends it, its (signed or protected) subject, its text. */
interface MailContent {
  from: string;
  subject: string;
  body: string;
  inReplyTo?: string;
  messageId?: string;
}

export interface StaffMailOptions extends MailContent {
  /** Fixture key that signs (`alice`, or an unrelated `reporter3`); null: not signed. */
  signer: string | null;
  references?: readonly string[];
  /** Extra header lines, e.g. a forged Reply-To or Authentication-Results. */
  headers?: readonly string[];
  /**
   * Copy Subject, From, To, Date and Message-ID into the signed part, marked `hp="clear"` and
   * `protected-headers="v1"` (RFC 9788; neomutt's and Thunderbird's protected headers), so the
   * signature covers the subject. Default true; false for a client without header protection.
   */
  protectedHeaders?: boolean;
  /** The outer Subject when it differs from the signed one: a rewrite in transit. */
  outerSubject?: string;
  /** The outer Message-ID when it differs from the signed one: a rewrite in transit. */
  outerMessageId?: string;
}

/**
 * A mail as a staff member's client sends it: PGP/MIME multipart/signed (RFC 3156 §5) by the
 * real gpg over the exact bytes of the text part, signed now, or unsigned when `signer` is null.
 * NB! "Now" is the wall clock: check it at the wall clock (`now: new Date()`), never at the
 * fixtures' fixed NOW, which a run on or after NOW's day passes (a time bomb we had).
 */
export function staffMail(o: StaffMailOptions): { raw: Buffer; messageId: string } {
  const messageId = o.messageId ?? `${randomUUID()}@staff.psirt.test`;
  const date = rfc5322Date();
  const outerId = o.outerMessageId ?? messageId;
  const head = [
    ...mailHeaders({ from: o.from, subject: o.outerSubject ?? o.subject, date, messageId: outerId }),
    ...threadHeaders(o.inReplyTo, o.references),
    ...(o.headers ?? []),
    'MIME-Version: 1.0',
  ];
  const inner =
    o.signer !== null && (o.protectedHeaders ?? true)
      ? [
          'Content-Type: text/plain; charset=utf-8; protected-headers="v1"; hp="clear"',
          ...mailHeaders({ from: o.from, subject: o.subject, date, messageId }),
        ]
      : ['Content-Type: text/plain; charset=utf-8'];
  const part = crlf(`${inner.join('\n')}\nContent-Transfer-Encoding: 8bit\n\n${o.body}`);
  if (o.signer === null) {
    return { raw: Buffer.from(crlf(`${head.join('\n')}\n`) + part), messageId: outerId };
  }
  const signer = o.signer;
  const signature = withGpg([`${signer}.sec`], (gpg) =>
    gpg(['--armor', '--digest-algo', 'SHA256', '--detach-sign'], part),
  ).stdout;
  if (!signature.includes('BEGIN PGP SIGNATURE')) throw new Error(`gpg did not sign as ${signer}`);
  const b = `psirt-staff-${randomUUID()}`;
  const raw =
    crlf(
      `${head.join('\n')}\nContent-Type: multipart/signed; micalg=pgp-sha256;\n protocol="application/pgp-signature"; boundary="${b}"\n\n--${b}\n`,
    ) +
    part +
    crlf(
      `\n--${b}\nContent-Type: application/pgp-signature; name="signature.asc"\n\n${signature}\n--${b}--\n`,
    );
  return { raw: Buffer.from(raw), messageId: outerId };
}

export interface EncryptedMailOptions extends MailContent {
  to?: string;
  /** What the outer Subject shows (Thunderbird writes `...`). */
  outerSubject: string;
  /** Fixture key that signs inside the encryption (sign-then-encrypt, RFC 3156 §6.2). */
  signer: string;
  /** Attach the signer's public key inside the encrypted part (so it can be pinned). */
  attachKey?: boolean;
  /** A text attachment inside the encrypted part. */
  attachment?: { name: string; text: string };
}

/**
 * A PGP/MIME signed-and-encrypted mail to the team key, made by the real gpg, whose encrypted
 * MIME entity carries protected headers (`protected-headers="v1"` and RFC 9788 `hp="cipher"`):
 * the real Subject and Message-ID inside, `outerSubject` outside. Signed at the wall clock, as
 * `staffMail`.
 */
export function encryptedMail(o: EncryptedMailOptions): { raw: Buffer; messageId: string } {
  const messageId = o.messageId ?? `${randomUUID()}@e2e.psirt.test`;
  const envelope = { from: o.from, to: o.to, date: rfc5322Date(), messageId };
  const thread = o.inReplyTo === undefined ? [] : threadHeaders(o.inReplyTo, [o.inReplyTo]);
  const b = `psirt-inner-${randomUUID()}`;
  const key = o.attachKey ? readFileSync(join(KEYS, `${o.signer}.pub.asc`), 'utf8') : null;
  const inner = crlf(
    [
      `Content-Type: multipart/mixed; boundary="${b}"; protected-headers="v1"; hp="cipher"`,
      ...mailHeaders({ ...envelope, subject: o.subject }),
      ...thread,
      `HP-Outer: Subject: ${o.outerSubject}`,
      '',
      `--${b}`,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      o.body,
      ...(o.attachment === undefined
        ? []
        : [
            `--${b}`,
            `Content-Type: text/plain; charset=utf-8; name="${o.attachment.name}"`,
            `Content-Disposition: attachment; filename="${o.attachment.name}"`,
            'Content-Transfer-Encoding: 8bit',
            '',
            o.attachment.text,
          ]),
      ...(key === null
        ? []
        : [
            `--${b}`,
            `Content-Type: application/pgp-keys; name="${o.signer}.asc"`,
            `Content-Disposition: attachment; filename="${o.signer}.asc"`,
            '',
            key.trim(),
          ]),
      `--${b}--`,
      '',
    ].join('\n'),
  );
  const armored = withGpg([`${o.signer}.sec`, 'team.pub'], (gpg) =>
    gpg(['--armor', '--sign', '--encrypt', '--recipient', TEAM_UID, '--digest-algo', 'SHA256'], inner),
  ).stdout;
  if (!armored.includes('BEGIN PGP MESSAGE')) throw new Error(`gpg did not encrypt as ${o.signer}`);
  const outerB = `psirt-enc-${randomUUID()}`;
  const raw = crlf(
    [
      ...mailHeaders({ ...envelope, subject: o.outerSubject }),
      ...thread,
      'MIME-Version: 1.0',
      `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${outerB}"`,
      '',
      `--${outerB}`,
      'Content-Type: application/pgp-encrypted',
      '',
      'Version: 1',
      '',
      `--${outerB}`,
      'Content-Type: application/octet-stream; name="encrypted.asc"',
      'Content-Disposition: inline; filename="encrypted.asc"',
      '',
      armored.trim(),
      `--${outerB}--`,
      '',
    ].join('\n'),
  );
  return { raw: Buffer.from(raw), messageId };
}

/** Decrypts our PGP/MIME mail as a fixture key; the decrypted MIME entity, headers and all. */
export function decryptEntity(key: string, raw: Buffer): { entity: Buffer; status: string } {
  return withGpg([`${key}.sec`, 'team.pub'], (gpg) => {
    const r = gpg(['--decrypt'], armoredPart(raw));
    return { entity: Buffer.from(r.stdout, 'utf8'), status: r.status };
  });
}

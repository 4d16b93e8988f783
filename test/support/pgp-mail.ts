import { randomUUID } from 'node:crypto';
import { withGpg } from './gpg.js';

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

export interface StaffMailOptions {
  from: string;
  subject: string;
  body: string;
  /** Fixture key that signs (`alice`, or an unrelated `reporter3`); null: not signed. */
  signer: string | null;
  inReplyTo?: string;
  references?: readonly string[];
  /** Extra header lines, e.g. a forged Reply-To or Authentication-Results. */
  headers?: readonly string[];
  messageId?: string;
}

/**
 * A mail as a staff member's client sends it: PGP/MIME multipart/signed (RFC 3156 §5) by the
 * real gpg over the exact bytes of the text part, signed now, or unsigned when `signer` is null.
 */
export function staffMail(o: StaffMailOptions): { raw: Buffer; messageId: string } {
  const messageId = o.messageId ?? `${randomUUID()}@staff.psirt.test`;
  const head = [
    `From: ${o.from}`,
    'To: security@psirt.test',
    `Subject: ${o.subject}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${messageId}>`,
    ...(o.inReplyTo ? [`In-Reply-To: <${o.inReplyTo}>`] : []),
    ...(o.references?.length ? [`References: ${o.references.map((r) => `<${r}>`).join(' ')}`] : []),
    ...(o.headers ?? []),
    'MIME-Version: 1.0',
  ];
  const part = crlf(`Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n${o.body}`);
  if (o.signer === null) {
    return { raw: Buffer.from(crlf(`${head.join('\n')}\n`) + part), messageId };
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
  return { raw: Buffer.from(raw), messageId };
}

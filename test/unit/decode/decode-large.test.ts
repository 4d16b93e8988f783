import { createHash, randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/3-unwrap/unwrap.js';
import { decodeDeps, FINGERPRINTS, publicKey, teamKey, type KeyName } from '../../support/mail-fixtures.js';

/**
 * Attachments larger than 1 MiB that decode does not need to read are hashed while they stream
 * and not kept (`contentOmitted`); OpenPGP data is kept and decoded whatever its size.
 */
const MB = 1 << 20;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const base64Lines = (data: Uint8Array) =>
  (
    Buffer.from(data)
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  ).join('\r\n');

const HEAD = ['From: Reporter One <reporter1@psirt.test>', 'To: security@psirt.test', 'MIME-Version: 1.0'];

/** A part of a multipart body: its header lines and its body as transmitted. */
interface Part {
  headers: string[];
  body: string;
}

const textPart = (text: string): Part => ({
  headers: ['Content-Type: text/plain; charset=utf-8'],
  body: text,
});

function fileParts(name: string, data: Uint8Array, type = 'application/octet-stream'): Part {
  return {
    headers: [
      `Content-Type: ${type}; name="${name}"`,
      `Content-Disposition: attachment; filename="${name}"`,
      'Content-Transfer-Encoding: base64',
    ],
    body: base64Lines(data),
  };
}

function multipart(type: string, boundary: string, parts: Part[]): string {
  return [
    `Content-Type: ${type}; boundary="${boundary}"`,
    '',
    ...parts.flatMap((p) => [`--${boundary}`, ...p.headers, '', p.body]),
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

const mail = (subject: string, entity: string) =>
  Buffer.from([...HEAD, `Subject: ${subject}`, entity].join('\r\n'));

async function encryptToTeam(data: Uint8Array, filename: string): Promise<Uint8Array> {
  return openpgp.encrypt({
    message: await openpgp.createMessage({ binary: data, filename }),
    encryptionKeys: (await teamKey()).key.toPublic(),
    format: 'binary',
  });
}

describe('decodeMessage() on large attachments', () => {
  it('hashes a large non-OpenPGP attachment without keeping its content', async () => {
    const capture = randomBytes(3 * MB);
    const small = randomBytes(1000);
    const raw = mail(
      'big proof of concept',
      multipart('multipart/mixed', 'b', [
        textPart('The capture is attached.'),
        fileParts('capture.pcap', capture),
        fileParts('small.bin', small),
      ]),
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.text).toBe('The capture is attached.');
    expect(d.problems).toEqual([]);
    expect(d.attachments).toEqual([
      {
        filename: 'capture.pcap',
        contentType: 'application/octet-stream',
        size: capture.length,
        sha256: sha256(capture),
        content: Buffer.alloc(0),
        contentOmitted: true,
        decrypted: false,
      },
      {
        filename: 'small.bin',
        contentType: 'application/octet-stream',
        size: small.length,
        sha256: sha256(small),
        content: small,
        contentOmitted: false,
        decrypted: false,
      },
    ]);
  });

  it('keeps an attachment of exactly 1 MiB', async () => {
    const data = randomBytes(MB);
    const raw = mail('edge', multipart('multipart/mixed', 'b', [textPart('x'), fileParts('a.bin', data)]));
    const [a] = (await decodeMessage(raw, await decodeDeps())).attachments;
    expect(a).toMatchObject({ size: MB, sha256: sha256(data), contentOmitted: false });
    expect(a?.content.equals(data)).toBe(true);
  });

  it('still decrypts a large binary .gpg attachment and hashes its plaintext', async () => {
    const plaintext = randomBytes(3 * MB);
    const raw = mail(
      'encrypted capture',
      multipart('multipart/mixed', 'b', [
        textPart('The capture is encrypted.'),
        fileParts('capture.bin.gpg', await encryptToTeam(plaintext, 'capture.bin')),
      ]),
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.encryption).toMatchObject({ state: 'decrypted', format: 'attachment' });
    expect(d.attachments).toHaveLength(1);
    expect(d.attachments[0]).toMatchObject({
      filename: 'capture.bin',
      decrypted: true,
      size: plaintext.length,
      sha256: sha256(plaintext),
      // The plaintext is large and not OpenPGP data: like any such attachment it is not kept.
      contentOmitted: true,
    });
  });

  it('decrypts a large armored OpenPGP message whose name and type do not announce it', async () => {
    const plaintext = randomBytes(2 * MB);
    const armored = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: plaintext }),
      encryptionKeys: (await teamKey()).key.toPublic(),
    });
    const raw = mail(
      'armored blob',
      multipart('multipart/mixed', 'b', [
        textPart('See the attachment.'),
        fileParts('report.dat', Buffer.from(armored)),
      ]),
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.encryption).toMatchObject({ state: 'decrypted', format: 'attachment' });
    expect(d.attachments[0]).toMatchObject({ decrypted: true, sha256: sha256(plaintext) });
  });

  it('decrypts PGP/MIME whose plaintext carries a large attachment, and omits that attachment', async () => {
    const capture = randomBytes(2 * MB);
    const inner = multipart('multipart/mixed', 'i', [
      textPart('Inner text.'),
      fileParts('capture.pcap', capture),
    ]);
    const encrypted = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: Buffer.from(inner) }),
      encryptionKeys: (await teamKey()).key.toPublic(),
    });
    const raw = mail(
      'pgp/mime',
      multipart('multipart/encrypted; protocol="application/pgp-encrypted"', 'e', [
        { headers: ['Content-Type: application/pgp-encrypted'], body: 'Version: 1' },
        { headers: ['Content-Type: application/octet-stream'], body: encrypted.replace(/\r?\n/g, '\r\n') },
      ]),
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.encryption).toMatchObject({ state: 'decrypted', format: 'pgp-mime' });
    expect(d.text).toBe('Inner text.');
    expect(d.attachments).toEqual([
      expect.objectContaining({ size: capture.length, sha256: sha256(capture), contentOmitted: true }),
    ]);
  });

  it('verifies multipart/signed over a large attachment (the signed bytes come from the raw mail)', async () => {
    const capture = randomBytes(2 * MB);
    const signed = multipart('multipart/mixed', 'm', [
      textPart('Signed, with a capture.'),
      fileParts('capture.pcap', capture),
    ]).replace(/\r\n$/, '');
    const signer = await signingKey('reporter1');
    const signature = await openpgp.sign({
      message: await openpgp.createMessage({ binary: Buffer.from(signed) }),
      signingKeys: signer,
      detached: true,
      date: new Date('2026-11-25T09:00:00Z'),
    });
    const raw = mail(
      'signed',
      [
        'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="s"',
        '',
        '--s',
        signed,
        '--s',
        'Content-Type: application/pgp-signature; name="signature.asc"',
        '',
        signature.replace(/\r?\n/g, '\r\n'),
        '--s--',
        '',
      ].join('\r\n'),
    );
    const d = await decodeMessage(raw, await decodeDeps({ senderKeys: [publicKey('reporter1')] }));
    expect(d.signature).toMatchObject({ state: 'valid', fingerprint: FINGERPRINTS.reporter1 });
    expect(d.text).toBe('Signed, with a capture.');
    expect(d.attachments).toEqual([
      expect.objectContaining({ filename: 'capture.pcap', sha256: sha256(capture), contentOmitted: true }),
    ]);
  });

  it('reads the returned Message-ID of a DSN whose returned message is large', async () => {
    const returned = [
      'From: Security Team <security@psirt.test>',
      'Message-ID: <case-9.ack@psirt.test>',
      'Content-Type: text/plain',
      '',
      ...Array.from({ length: 40_000 }, (_, i) => `line ${i} of a long returned message`),
    ].join('\r\n');
    const raw = mail(
      'Undelivered Mail Returned to Sender',
      multipart('multipart/report; report-type=delivery-status', 'r', [
        textPart('Your message could not be delivered.'),
        {
          headers: ['Content-Type: message/delivery-status'],
          body: 'Reporting-MTA: dns; mx.psirt.test\r\n\r\nFinal-Recipient: rfc822; gone@reporter.test\r\nAction: failed\r\nStatus: 5.1.1',
        },
        { headers: ['Content-Type: message/rfc822'], body: returned },
      ]),
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.delivery).toEqual({
      originalMessageId: 'case-9.ack@psirt.test',
      action: 'failed',
      status: '5.1.1',
      recipient: 'gone@reporter.test',
    });
    expect(d.attachments.find((a) => a.contentType === 'message/rfc822')).toMatchObject({
      size: Buffer.byteLength(returned),
      contentOmitted: true,
    });
  });
});

/** A fixture key, unlocked, to sign with (the fixtures' reporter keys have no passphrase). */
async function signingKey(name: KeyName): Promise<openpgp.PrivateKey> {
  return (await teamKey(name)).key;
}

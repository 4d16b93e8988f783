import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/3-unwrap/unwrap.js';
import {
  buildPgpMime,
  decodeDeps,
  FINGERPRINTS,
  publicKey,
  readMail,
  teamKey,
} from '../../support/mail-fixtures.js';

const decode = async (name: string, overrides = {}) =>
  decodeMessage(readMail(name), await decodeDeps(overrides));

/** The team key's encryption subkey id: every fixture is encrypted to it. */
const TEAM_SUBKEY = '230498BBAFF2A7BE';

describe('decodeMessage() on PGP/MIME encrypted mail (RFC 3156 §4)', () => {
  it('decrypts with the team key and replaces the text and attachments with the inner ones', async () => {
    const d = await decode('report-pgp-mime.eml');
    expect(d.encryption).toEqual({
      state: 'decrypted',
      format: 'pgp-mime',
      keyIds: [TEAM_SUBKEY],
      teamKeyFingerprint: FINGERPRINTS.team,
    });
    expect(d.text).toBe('Der Lögin ist verwundbar (lögin), see poc.py.');
    expect(d.attachments.map((a) => [a.filename, a.contentType, a.decrypted])).toEqual([
      ['poc.py', 'text/x-python', false],
    ]);
    expect(d.attachments[0]?.content.toString()).toContain('requests.get("https://app.psirt.test/login"');
  });

  it('has no signature verdict for an unsigned encrypted message', async () => {
    expect((await decode('report-pgp-mime.eml')).signature).toEqual({ state: 'none' });
  });

  it('verifies a sign-then-encrypt message against the sender key (RFC 3156 §6.2)', async () => {
    const d = await decode('report-pgp-mime-signed.eml', { senderKeys: [publicKey('reporter1')] });
    expect(d.text).toContain('the reset token is predictable (séquence)');
    expect(d.signature).toMatchObject({
      state: 'valid',
      format: 'encrypted',
      fingerprint: FINGERPRINTS.reporter1,
    });
  });

  it('verifies an RSA-3072 signature inside the encrypted message', async () => {
    const d = await decode('report-pgp-mime-rsa.eml', { senderKeys: [publicKey('reporter3')] });
    expect(d.text).toBe('RSA reporter: the admin API accepts expired tokens.\n');
    expect(d.signature).toMatchObject({
      state: 'valid',
      fingerprint: FINGERPRINTS.reporter3,
      keyId: '391A7CF946F23763',
    });
  });

  it('verifies a multipart/signed entity nested inside the encrypted part (RFC 3156 §6.1)', async () => {
    const d = await decode('report-pgp-mime-inner-signed.eml', { senderKeys: [publicKey('reporter1')] });
    expect(d.encryption.state).toBe('decrypted');
    expect(d.text).toBe('Signed first with multipart/signed, then encrypted.');
    expect(d.signature).toMatchObject({
      state: 'valid',
      format: 'pgp-mime',
      fingerprint: FINGERPRINTS.reporter1,
    });
    expect(d.attachments).toEqual([]);
  });

  it('decrypts an encrypted attachment inside the decrypted part', async () => {
    const d = await decode('report-pgp-mime-nested-attachment.eml');
    expect(d.text).toBe('The credentials are in the encrypted attachment.');
    expect(d.encryption).toMatchObject({ state: 'decrypted', format: 'pgp-mime' });
    const [secret] = d.attachments;
    expect(secret).toMatchObject({ filename: 'secret.txt', contentType: 'text/plain', decrypted: true });
    expect(secret?.content.toString()).toBe('the database password is hunter2\n');
  });

  describe('when several team keys are configured (rotation)', () => {
    it('decrypts with the second key when the message is encrypted to it', async () => {
      const d = await decode('report-pgp-mime.eml', {
        teamKeys: [await teamKey('alice'), await teamKey('team')],
      });
      expect(d.encryption).toMatchObject({ state: 'decrypted', teamKeyFingerprint: FINGERPRINTS.team });
    });

    it('chooses the key by the recipient key id, whichever comes first', async () => {
      const d = await decode('report-wrong-key.eml', {
        teamKeys: [await teamKey('team'), await teamKey('alice')],
      });
      expect(d.encryption).toMatchObject({ state: 'decrypted', teamKeyFingerprint: FINGERPRINTS.alice });
      expect(d.text).toBe('Only alice can read this.\n');
    });
  });

  describe('when the message cannot be decrypted', () => {
    it('says no-matching-key when no team key is a recipient, and keeps the ciphertext', async () => {
      const d = await decode('report-wrong-key.eml');
      expect(d.encryption).toEqual({
        state: 'failed',
        format: 'pgp-mime',
        keyIds: ['12C706677EA21867'],
        reason: 'no-matching-key',
      });
      expect(d.text).toBe('');
      expect(d.attachments.map((a) => a.filename)).toEqual(['encrypted.asc']);
      expect(d.problems).toHaveLength(1);
    });

    it('says corrupt when the ciphertext was damaged', async () => {
      const d = await decode('report-corrupt-ciphertext.eml');
      expect(d.encryption).toMatchObject({ state: 'failed', reason: 'corrupt', keyIds: [TEAM_SUBKEY] });
      expect(d.problems[0]).toMatch(/could not be decrypted \(corrupt/);
    });

    it('says too-large when the plaintext exceeds maxDecompressedBytes', async () => {
      const d = await decode('report-pgp-mime.eml', { maxDecompressedBytes: 64 });
      expect(d.encryption).toMatchObject({ state: 'failed', reason: 'too-large' });
      expect(d.text).toBe('');
    });

    it('never puts plaintext into problems', async () => {
      const d = await decode('report-pgp-mime.eml', { maxDecompressedBytes: 64 });
      expect(d.problems.join('\n')).not.toMatch(/verwundbar|poc\.py/);
    });
  });
});

describe('decodeMessage() on inline PGP', () => {
  it('decrypts an armored message in a text/plain body', async () => {
    const d = await decode('report-inline-pgp.eml');
    expect(d.encryption).toEqual({
      state: 'decrypted',
      format: 'inline',
      keyIds: [TEAM_SUBKEY],
      teamKeyFingerprint: FINGERPRINTS.team,
    });
    expect(d.text.trim()).toBe('The session cookie lacks HttpOnly; details: token=abc123.');
  });

  it('verifies the signature inside an inline message', async () => {
    const d = await decode('report-inline-pgp.eml', { senderKeys: [publicKey('reporter1')] });
    expect(d.signature).toMatchObject({
      state: 'valid',
      format: 'inline',
      fingerprint: FINGERPRINTS.reporter1,
    });
  });

  it('keeps unencrypted text around the block and notes that it was not encrypted', async () => {
    const raw = readMail('report-inline-pgp.eml')
      .toString('latin1')
      .replace('-----BEGIN PGP MESSAGE-----', 'Hi, my report is below.\r\n\r\n-----BEGIN PGP MESSAGE-----');
    const d = await decodeMessage(Buffer.from(raw, 'latin1'), await decodeDeps());
    expect(d.text).toMatch(/^Hi, my report is below\.\n\nThe session cookie/);
    expect(d.problems).toContain('text outside the inline PGP block was not encrypted');
  });
});

describe('decodeMessage() on encrypted attachments', () => {
  it('decrypts a binary .gpg and an armored .asc attachment and names them without the extension', async () => {
    const d = await decode('report-encrypted-attachment.eml');
    expect(d.text).toBe('Details are in the encrypted attachments.');
    expect(d.attachments.map((a) => [a.filename, a.contentType, a.decrypted, a.content.toString()])).toEqual([
      ['exploit.py', 'text/x-python', true, 'print("exploit")\n'],
      ['notes.txt', 'text/plain', true, 'Notes: the bug needs an authenticated session.\n'],
    ]);
  });

  it('reports the attachment encryption when the body itself was clear', async () => {
    const d = await decode('report-encrypted-attachment.eml');
    expect(d.encryption).toEqual({
      state: 'decrypted',
      format: 'attachment',
      keyIds: [TEAM_SUBKEY],
      teamKeyFingerprint: FINGERPRINTS.team,
    });
  });

  it('hashes a decrypted attachment over its plaintext', async () => {
    const d = await decode('report-encrypted-attachment.eml');
    for (const a of d.attachments)
      expect(a.sha256).toBe(createHash('sha256').update(a.content).digest('hex'));
  });

  it('keeps an attachment it cannot decrypt as it came and reports the failure', async () => {
    const d = await decode('report-encrypted-attachment.eml', { teamKeys: [await teamKey('alice')] });
    expect(d.encryption).toMatchObject({ state: 'failed', format: 'attachment', reason: 'no-matching-key' });
    expect(d.attachments.map((a) => [a.filename, a.decrypted])).toEqual([
      ['exploit.py.gpg', false],
      ['notes.txt.asc', false],
    ]);
    expect(d.problems).toEqual([
      'attachment 1 could not be decrypted (no-matching-key: no team key is a recipient)',
      'attachment 2 could not be decrypted (no-matching-key: no team key is a recipient)',
    ]);
  });
});

describe('decodeMessage() on decrypted content that is unusual', () => {
  it('takes the subject from protected headers inside the encrypted part', async () => {
    const raw = await buildPgpMime(
      'Content-Type: text/plain; charset=utf-8; protected-headers="v1"\nSubject: SQL injection in search\n\nbody\n',
      '...',
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.subject).toBe('SQL injection in search');
    expect(d.text).toBe('body\n');
  });

  it('keeps the outer subject when the inner entity has no protected headers', async () => {
    const raw = await buildPgpMime('Content-Type: text/plain\nSubject: not protected\n\nbody\n', 'Outer');
    expect((await decodeMessage(raw, await decodeDeps())).subject).toBe('Outer');
  });

  it('treats a plaintext that is not a MIME entity as the text', async () => {
    const raw = await buildPgpMime('Just text, no MIME headers.\nSecond line.\n');
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.encryption.state).toBe('decrypted');
    expect(d.text).toBe('Just text, no MIME headers.\r\nSecond line.\r\n');
  });
});

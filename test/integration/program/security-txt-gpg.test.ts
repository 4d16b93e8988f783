import { beforeAll, describe, expect, it } from 'vitest';
import { configDigest } from '../../../src/config/digest.js';
import { cleartextSign } from '../../../src/pgp/sign-and-encrypt.js';
import { renderSecurityTxt } from '../../../src/program/public-channel.js';
import { loadExampleConfig } from '../../support/example-config.js';
import { withGpg } from '../../support/gpg.js';
import { FINGERPRINTS, teamKey } from '../../support/mail-fixtures.js';
import { checkSecurityTxt, stripCleartextSignature } from '../../support/rfc9116.js';

/**
 * security.txt as `psirt program` publishes it (RFC 9116 §2.3): rendered from config/example.toml,
 * cleartext-signed with the (TEST ONLY) team key, checked with the real gpg. Signed and read at
 * the wall clock (gpg checks the signature time against its own clock), with Expires set half a
 * year after it so the file is never stale when the test runs.
 */
let now: Date;
let unsigned: string;
let signed: string;

beforeAll(async () => {
  now = new Date();
  const expires = new Date(now.getTime() + 182 * 86_400_000).toISOString();
  const { config } = loadExampleConfig({ PSIRT_PUBLIC_CHANNEL__EXPIRES: expires });
  unsigned = renderSecurityTxt({
    config,
    teamKey: { fingerprint: FINGERPRINTS.team, expires: null },
    configDigest: configDigest(config),
    generatedAt: now,
  });
  signed = await cleartextSign(unsigned, await teamKey());
});

function verify(text: string): string {
  return withGpg(['team.pub'], (gpg) => gpg(['--verify'], text).status);
}

describe('the signed security.txt of config/example.toml', () => {
  it('verifies with gpg as a good signature by the team key', () => {
    const status = verify(signed);
    expect(status).toMatch(/^\[GNUPG:\] GOODSIG 0F2409846A82D91C /m);
    expect(status).toMatch(new RegExp(`^\\[GNUPG:\\] VALIDSIG ${FINGERPRINTS.team} `, 'm'));
  });

  it('still passes the RFC 9116 check, and its signed text is the rendered file', () => {
    const report = checkSecurityTxt(signed, now);
    expect(report.signed).toBe(true);
    expect(report.errors).toEqual([]);
    // openpgp.js writes the signed lines with CRLF (RFC 9116 §2.2 allows CRLF and LF alike).
    expect(stripCleartextSignature(signed)?.replaceAll('\r\n', '\n')).toBe(unsigned);
  });

  it('fails gpg --verify when one byte of the signed text changed', () => {
    const changed = signed.replace(
      'Contact: mailto:security@example.com',
      'Contact: mailto:securitx@example.com',
    );
    expect(changed).not.toBe(signed);
    const status = verify(changed);
    expect(status).toMatch(/^\[GNUPG:\] BADSIG /m);
    expect(status).not.toContain('GOODSIG');
  });
});

import { describe, expect, it } from 'vitest';
import { authenticateStaff } from '../../../src/5-authenticate/staff-auth.js';
import { loadConfig } from '../../../src/config/load.js';
import type { DecodedMessage } from '../../../src/2-decode/types.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';

const config = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
const alice = config.staff.find((s) => s.address === 'alice@psirt.test')!;
const NOW = new Date('2026-11-24T12:00:00Z');
const signed = (over: Partial<Extract<DecodedMessage['signature'], { state: 'valid' }>> = {}) => {
  const mail = buildSignedStaffMail(alice, 'XSS in the login form');
  return {
    ...mail,
    signature: { ...(mail.signature as Extract<DecodedMessage['signature'], { state: 'valid' }>), ...over },
  };
};
const run = (msg: DecodedMessage, commands: Partial<typeof config.commands> = {}) =>
  authenticateStaff(msg, alice, { dkim: null }, { commands: { ...config.commands, ...commands }, now: NOW });

describe('authenticateStaff()', () => {
  it('accepts a fresh signature by the configured fingerprint, naming it', () => {
    expect(run(signed())).toEqual({
      ok: true,
      method: 'pgp',
      label: `pgp:${alice.fingerprint!}`,
      digest: `pgp:${'d'.repeat(64)}`,
    });
  });

  it.each([
    ['unsigned', buildDecoded({ from: { address: 'alice@psirt.test', name: null } }), /not signed/],
    ['signed by another key', signed({ fingerprint: 'A'.repeat(40) }), /not by the configured key/],
    [
      'an unknown key',
      buildDecoded({
        from: { address: 'alice@psirt.test', name: null },
        signature: { state: 'unknown-key', keyId: 'ABCDEF0123456789', format: 'pgp-mime' },
      }),
      /unknown key ABCDEF0123456789/,
    ],
    [
      'a signature older than the window',
      signed({ createdAt: '2026-11-20T11:59:00.000Z' }),
      /older than 72 hours/,
    ],
    ['a signature from the future', signed({ createdAt: '2026-11-24T13:00:00.000Z' }), /in the future/],
    // Issue #10: a PGP signature never covers the outer Subject that carries the commands.
    [
      'a signature without protected headers',
      { ...signed(), protectedHeaders: null },
      /does not cover the Subject/,
    ],
    [
      'protected headers outside the signed data',
      { ...signed(), protectedHeaders: { subject: 's', messageId: null, encrypted: true, signed: false } },
      /does not cover the Subject/,
    ],
  ])('refuses %s', (_name, msg, why) => {
    const r = run(msg);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(why);
  });

  it('refuses a From: other than the member (the pipeline matched by address)', () => {
    const r = run({ ...signed(), from: { address: 'mallory@psirt.test', name: null } });
    expect(r).toEqual({ ok: false, reason: 'From: mallory@psirt.test is not alice@psirt.test' });
  });

  it('ignores a dkim=pass Authentication-Results unless its authserv-id is trusted', () => {
    const forged = buildDecoded({
      from: { address: 'alice@psirt.test', name: null },
      headers: { authenticationResults: ['evil.example; dkim=pass header.d=psirt.test'] },
    });
    expect(run(forged).ok).toBe(false);
    const trusted = run(forged, { trusted_authserv_ids: ['mx.psirt.test'] });
    expect(trusted.ok).toBe(false);
    const ours = buildDecoded({
      messageId: 'm1@psirt.test',
      date: '2026-11-24T11:58:00.000Z',
      from: { address: 'alice@psirt.test', name: null },
      headers: { authenticationResults: ['mx.psirt.test; dkim=pass header.d=psirt.test'] },
    });
    expect(run(ours, { trusted_authserv_ids: ['mx.psirt.test'] })).toMatchObject({
      ok: true,
      method: 'authentication-results',
      label: 'authentication-results:mx.psirt.test:psirt.test',
    });
  });

  it('accepts a DKIM pass verified here when enabled, and says why not otherwise', () => {
    const msg = buildDecoded({ from: { address: 'alice@psirt.test', name: null } });
    const pass = {
      state: 'pass' as const,
      domain: 'psirt.test',
      selector: 's1',
      signedHeaders: ['from', 'subject', 'date', 'message-id'],
      signatureDigest: 'e'.repeat(64),
      signedAt: '2026-11-24T11:00:00.000Z',
    };
    const ok = authenticateStaff(
      msg,
      alice,
      { dkim: pass },
      {
        commands: { ...config.commands, dkim_verify: true },
        now: NOW,
      },
    );
    expect(ok).toMatchObject({ ok: true, method: 'dkim', label: 'dkim:psirt.test' });
    const off = authenticateStaff(msg, alice, { dkim: pass }, { commands: config.commands, now: NOW });
    expect(off.ok).toBe(false);
  });
});

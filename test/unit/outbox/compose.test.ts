import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/core/clock.js';
import { composeMail, type OutgoingMail, type Sealer } from '../../../src/8-outbox/compose.js';
import { loadTeamKeys, type TeamKey } from '../../../src/pgp/keyring.js';
import { createSealer } from '../../../src/pgp/sealer.js';
import { KEYS, TEAM_PASSPHRASE, withGpg } from '../../support/gpg.js';

let team: TeamKey;
let sealer: Sealer;

beforeAll(async () => {
  [team] = (await loadTeamKeys(
    {
      keys: [{ file: join(KEYS, 'team.sec.asc'), passphrase: TEAM_PASSPHRASE }],
      max_decompressed_bytes: 1 << 20,
    },
    fixedClock('2027-06-01T12:00:00Z'),
  )) as [TeamKey];
  sealer = createSealer(team);
});

const mail = (): OutgoingMail => ({
  from: { name: 'psirt test', address: 'security@psirt.test' },
  to: ['reporter1@psirt.test'],
  subject: 'Re: [SEC-2026-0001] Überlauf im Parser',
  outerSubject: 'Re: [SEC-2026-0001] Überlauf im Parser',
  messageId: 'sec-2026-0001.acknowledgment.abc@psirt.test',
  inReplyTo: 'report-1@reporter.test',
  references: ['report-1@reporter.test'],
  headers: { 'Auto-Submitted': 'auto-replied' },
  date: new Date('2026-11-24T12:00:00Z'),
  text: 'Hello,\nyour case is SEC-2026-0001.\nTrailing space here: \nFrom the start of a line.\n',
});

describe('composeMail()', () => {
  it('makes a PGP/MIME signed mail whose signature gpg verifies as the team key (RFC 3156 §5)', async () => {
    const raw = await composeMail(mail(), { kind: 'signed' }, sealer);
    const text = raw.toString('latin1');
    const boundary = /boundary="?([^";\r\n]+)"?/.exec(text)?.[1] ?? '';
    // RFC 3156 §5: the signed bytes are the first part, up to the CRLF before the next delimiter.
    const start = text.indexOf(`--${boundary}\r\n`) + boundary.length + 4;
    const signed = text.slice(start, text.indexOf(`\r\n--${boundary}`, start));
    const sig = /-----BEGIN PGP SIGNATURE-----[\s\S]+?-----END PGP SIGNATURE-----/.exec(text)?.[0] ?? '';
    withGpg(['team.pub'], (gpg) => {
      const tmp = mkdtempSync(join(tmpdir(), 'sig-'));
      writeFileSync(join(tmp, 'data'), Buffer.from(signed, 'latin1'));
      writeFileSync(join(tmp, 'data.asc'), sig);
      const r = gpg(['--verify', join(tmp, 'data.asc'), join(tmp, 'data')]);
      expect(r.status).toContain(`VALIDSIG ${team.fingerprint}`);
    });
  });

  it('makes a PGP/MIME encrypted mail that the reporter decrypts with gpg, signed by the team key', async () => {
    const reporterKey = readFileSync(join(KEYS, 'reporter1.pub.asc'), 'utf8');
    const raw = await composeMail(mail(), { kind: 'encrypted', recipientKeys: [reporterKey] }, sealer);
    const parsed = await simpleParser(raw);
    const armored =
      parsed.attachments.find((a) => a.contentType === 'application/octet-stream')?.content.toString() ?? '';
    expect(raw.toString()).toContain('multipart/encrypted; protocol="application/pgp-encrypted"');
    expect(raw.toString()).not.toContain('your case is');
    withGpg(['reporter1.sec', 'team.pub'], (gpg) => {
      const r = gpg(['--decrypt'], armored);
      expect(r.status).toContain('DECRYPTION_OKAY');
      expect(r.status).toContain(`VALIDSIG ${team.fingerprint}`);
      expect(Buffer.from(r.stdout.split('\r\n\r\n')[1] ?? '', 'base64').toString()).toContain(
        'your case is SEC-2026-0001',
      );
    });
  });

  it('writes threading and RFC 3834 headers, with the subject encoded', async () => {
    const parsed = await simpleParser(await composeMail(mail(), { kind: 'signed' }, sealer));
    expect(parsed.messageId).toBe('<sec-2026-0001.acknowledgment.abc@psirt.test>');
    expect(parsed.inReplyTo).toBe('<report-1@reporter.test>');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.subject).toBe('Re: [SEC-2026-0001] Überlauf im Parser');
  });

  it('protects the subject of encrypted mail (RFC 9788): neutral outside, real inside with hp="cipher"', async () => {
    const reporterKey = readFileSync(join(KEYS, 'reporter1.pub.asc'), 'utf8');
    const m = { ...mail(), outerSubject: 'Re: [SEC-2026-0001] ...' };
    const raw = await composeMail(m, { kind: 'encrypted', recipientKeys: [reporterKey] }, sealer);
    const outer = await simpleParser(raw);
    expect(outer.subject).toBe('Re: [SEC-2026-0001] ...');
    expect(raw.toString('utf8')).not.toMatch(/berlauf|C3=9C/);
    const armored =
      outer.attachments.find((a) => a.contentType === 'application/octet-stream')?.content.toString() ?? '';
    const inner = withGpg(['reporter1.sec', 'team.pub'], (gpg) => gpg(['--decrypt'], armored).stdout);
    const head = inner.split('\r\n\r\n')[0] ?? '';
    expect(head).toMatch(
      /^Content-Type: text\/plain; charset=utf-8; protected-headers="?v1"?; hp="?cipher"?$/m,
    );
    const parsedInner = await simpleParser(Buffer.from(inner));
    expect(parsedInner.subject).toBe('Re: [SEC-2026-0001] Überlauf im Parser');
    expect(parsedInner.messageId).toBe('<sec-2026-0001.acknowledgment.abc@psirt.test>');
    expect(parsedInner.from?.value[0]?.address).toBe('security@psirt.test');
    expect(parsedInner.inReplyTo).toBe('<report-1@reporter.test>');
    expect(parsedInner.headers.get('auto-submitted')).toBe('auto-replied');
    // RFC 9788 §2.2: what travelled outside is recorded inside.
    expect(head).toMatch(/^HP-Outer: Subject: Re: \[SEC-2026-0001\] \.\.\.$/im);
    expect(head).toMatch(/^HP-Outer: Message-ID: <sec-2026-0001\.acknowledgment\.abc@psirt\.test>$/im);
    expect(parsedInner.text).toContain('your case is SEC-2026-0001');
  });

  it('writes outerSubject, not subject, on signed mail (the caller neutralised it)', async () => {
    const m = { ...mail(), subject: 'Re: [SEC-2026-0001] secret', outerSubject: 'Re: [SEC-2026-0001] ...' };
    const raw = await composeMail(m, { kind: 'signed' }, sealer);
    expect(raw.toString('utf8')).not.toContain('secret');
    expect((await simpleParser(raw)).subject).toBe('Re: [SEC-2026-0001] ...');
  });
});

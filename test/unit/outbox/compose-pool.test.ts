import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/core/clock.js';
import { PsirtError } from '../../../src/core/errors.js';
import { createLogger } from '../../../src/core/log.js';
import type { OutgoingMail } from '../../../src/8-outbox/compose.js';
import { loadTeamKeys, type TeamKey } from '../../../src/pgp/keyring.js';
import { ComposerUnavailable, createComposePool, type ComposePool } from '../../../src/roles/compose-pool.js';
import { KEYS, TEAM_PASSPHRASE, withGpg } from '../../support/gpg.js';

let team: TeamKey;
let pool: ComposePool | null = null;

beforeAll(async () => {
  [team] = (await loadTeamKeys(
    {
      keys: [{ file: join(KEYS, 'team.sec.asc'), passphrase: TEAM_PASSPHRASE }],
      max_decompressed_bytes: 1 << 20,
    },
    fixedClock('2027-06-01T12:00:00Z'),
  )) as [TeamKey];
});

afterEach(async () => {
  await pool?.close();
  pool = null;
});

const mail = (n = 1): OutgoingMail => ({
  from: { name: 'psirt test', address: 'security@psirt.test' },
  to: ['reporter1@psirt.test'],
  subject: `Re: [SEC-2026-000${String(n)}] Überlauf im Parser`,
  outerSubject: `Re: [SEC-2026-000${String(n)}] ...`,
  messageId: `sec-2026-000${String(n)}.acknowledgment.abc@psirt.test`,
  inReplyTo: null,
  references: [],
  headers: { 'Auto-Submitted': 'auto-replied' },
  date: new Date('2026-11-24T12:00:00Z'),
  text: `Hello,\nyour case is SEC-2026-000${String(n)}.\n`,
});

const open = (size = 2, idleMs = 60_000, timeoutMs?: number): ComposePool =>
  (pool = createComposePool(team, {
    size,
    idleMs,
    log: createLogger('silent'),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  }));

describe('the compose threads (#16)', () => {
  it('sign in another thread with the team key: gpg verifies the signature, the Date survives', async () => {
    const raw = await open().compose(mail(), { kind: 'signed' });
    const text = raw.toString('latin1');
    expect(text).toContain('multipart/signed; micalg=pgp-');
    expect(text).toContain('Date: Tue, 24 Nov 2026 12:00:00 +0000');
    const boundary = /boundary="?([^";\r\n]+)"?/.exec(text)?.[1] ?? '';
    const start = text.indexOf(`--${boundary}\r\n`) + boundary.length + 4;
    const signed = text.slice(start, text.indexOf(`\r\n--${boundary}`, start));
    const sig = /-----BEGIN PGP SIGNATURE-----[\s\S]+?-----END PGP SIGNATURE-----/.exec(text)?.[0] ?? '';
    withGpg(['team.pub'], (gpg) => {
      const tmp = mkdtempSync(join(tmpdir(), 'sig-'));
      writeFileSync(join(tmp, 'data'), Buffer.from(signed, 'latin1'));
      writeFileSync(join(tmp, 'data.asc'), sig);
      expect(gpg(['--verify', join(tmp, 'data.asc'), join(tmp, 'data')]).status).toContain(
        `VALIDSIG ${team.fingerprint}`,
      );
    });
  });

  it('encrypt in another thread: the reporter decrypts it, the real subject only inside', async () => {
    const reporterKey = readFileSync(join(KEYS, 'reporter1.pub.asc'), 'utf8');
    const raw = await open().compose(mail(), { kind: 'encrypted', recipientKeys: [reporterKey] });
    expect(raw.toString('utf8')).not.toMatch(/berlauf|your case/);
    const outer = await simpleParser(raw);
    const armored =
      outer.attachments.find((a) => a.contentType === 'application/octet-stream')?.content.toString() ?? '';
    const inner = withGpg(['reporter1.sec', 'team.pub'], (gpg) => {
      const r = gpg(['--decrypt'], armored);
      expect(r.status).toContain('DECRYPTION_OKAY');
      expect(r.status).toContain(`VALIDSIG ${team.fingerprint}`);
      return r.stdout;
    });
    const parsedInner = await simpleParser(Buffer.from(inner));
    expect(parsedInner.subject).toBe('Re: [SEC-2026-0001] Überlauf im Parser');
    expect(parsedInner.text).toContain('your case is SEC-2026-0001');
    expect(outer.subject).toBe('Re: [SEC-2026-0001] ...');
  });

  it('many mails at once: each gets its own bytes back, with no more threads than the pool size', async () => {
    const p = open(2);
    const raws = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => p.compose(mail(n), { kind: 'signed' })));
    raws.forEach((raw, i) =>
      expect(raw.toString('latin1')).toContain(`Message-ID: <sec-2026-000${String(i + 1)}.acknowledgment`),
    );
    expect(p.threads()).toBeGreaterThanOrEqual(1);
    expect(p.threads()).toBeLessThanOrEqual(2);
  });

  it('an urgent mail (an acknowledgment) waits behind no staff notification for a thread', async () => {
    const p = open(1);
    await p.compose(mail(), { kind: 'signed' }); // the thread is up
    const done: string[] = [];
    const track = (name: string, m: Promise<Buffer>): Promise<void> => m.then(() => void done.push(name));
    const background = [1, 2, 3, 4, 5].map((n) =>
      track(`notification ${String(n)}`, p.compose(mail(n), { kind: 'signed' }, { background: true })),
    );
    const urgent = track('acknowledgment', p.compose(mail(6), { kind: 'signed' }));
    await Promise.all([...background, urgent]);
    // Two notifications were already with the thread; the acknowledgment goes next.
    expect(done.indexOf('acknowledgment')).toBeLessThanOrEqual(2);
    expect(done.at(-1)).toBe('notification 5');
  });

  it("a mail's own fault comes back as the PsirtError it was (not retryable)", async () => {
    const err = await open()
      .compose(mail(), { kind: 'encrypted', recipientKeys: ['not a key'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PsirtError);
    expect((err as PsirtError).code).toBe('pgp_recipient_key_invalid');
    expect((err as PsirtError).retryable).toBe(false);
  });

  it('a thread that goes away fails the mails it held as ComposerUnavailable (retryable), and the pool no more', async () => {
    const p = open();
    const held = p.compose(mail(), { kind: 'signed' });
    await p.close();
    const err = await held.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComposerUnavailable);
    expect((err as PsirtError).retryable).toBe(true);
    await expect(p.compose(mail(), { kind: 'signed' })).rejects.toBeInstanceOf(ComposerUnavailable);
  });

  it('a thread that does not answer in time is retired, and its mail fails as retryable', async () => {
    // 7.6 MB of text through a thread's first mail: far over 20 ms on any machine.
    const p = open(1, 60_000, 20);
    const slow = { ...mail(2), text: 'a long report line\n'.repeat(400_000) };
    const err = await p.compose(slow, { kind: 'signed' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComposerUnavailable);
    expect(String(err)).toContain('did not answer in 20 ms');
    expect(p.threads()).toBe(0);
  });

  it('threads that cannot start: after two tries the pool composes through its fallback, and says so once', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
    const broken = { ...team, key: { armor: () => 'not an armored key' } } as unknown as TeamKey;
    pool = createComposePool(broken, {
      size: 1,
      idleMs: 60_000,
      log,
      fallback: () => Promise.resolve(Buffer.from('composed on the main thread')),
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++)
      outcomes.push(
        await pool.compose(mail(), { kind: 'signed' }).then(
          (raw) => raw.toString(),
          (err: unknown) => (err instanceof ComposerUnavailable ? 'unavailable' : String(err)),
        ),
      );
    expect(outcomes).toEqual([
      'unavailable',
      'unavailable',
      'composed on the main thread',
      'composed on the main thread',
    ]);
    expect(lines.filter((l) => l.includes('"outbox.compose-threads-unavailable"'))).toHaveLength(1);
  });

  it('an idle thread ends, and a new one starts for the next mail', async () => {
    const p = open(1, 200);
    await p.compose(mail(), { kind: 'signed' });
    expect(p.threads()).toBe(1);
    await expect.poll(() => p.threads(), { timeout: 5000 }).toBe(0);
    await p.compose(mail(2), { kind: 'signed' });
    expect(p.threads()).toBe(1);
  });
});

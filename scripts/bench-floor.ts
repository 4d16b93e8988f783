/**
 * The libraries' own CPU per report (issue #16): what a report costs in the required stack's
 * libraries alone, each operation measured apart in this process — decoding the report
 * (mailparser), composing the acknowledgment (nodemailer's MIME, an OpenPGP.js detached
 * signature) and the staff notification (MIME, OpenPGP.js signed and encrypted to the three
 * test staff keys and the team key), and handing two mails to Postfix (nodemailer's pooled SMTP
 * client). SQLite, BullMQ, IMAP and our own code are not in it: it is a floor under the service's
 * CPU per report, printed beside the ≤ 15 ms bound.
 */
import { pooledTransport } from '../test/support/paced-mail.js';
import { composeMail, type OutgoingMail } from '../src/8-outbox/compose.js';
import { decodeMessage } from '../src/3-unwrap/unwrap.js';
import { createSealer } from '../src/pgp/sealer.js';
import { decodeDeps, publicKey, teamKey } from '../test/support/mail-fixtures.js';
import { address, type StackInfo } from '../test/support/stack.js';
import { generateReports } from './bench-corpus.js';

/** CPU ms per call of `fn` (user + system of this process), after `warm` calls not counted. */
async function cpuPerCall(n: number, fn: (i: number) => Promise<unknown>, warm = 20): Promise<number> {
  for (let i = 0; i < warm; i++) await fn(i);
  const from = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn(i);
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000 / n;
}

function mail(i: number, text: string): OutgoingMail {
  return {
    from: { name: 'psirt-inbox bench', address: 'security@psirt.test' },
    to: [`reporter${String(i)}@example.org`],
    subject: `Re: [SEC-2026-${String(i).padStart(4, '0')}] Report ${String(i)}`,
    outerSubject: `Re: [SEC-2026-${String(i).padStart(4, '0')}] ...`,
    messageId: `bench-${String(i)}@psirt.test`,
    inReplyTo: `report-${String(i)}@example.org`,
    references: [`report-${String(i)}@example.org`],
    headers: { 'Auto-Submitted': 'auto-replied' },
    date: new Date(),
    text,
  };
}

export async function libraryFloor(
  stack: StackInfo,
  progress: (msg: string) => void,
): Promise<Record<string, number>> {
  const n = 200;
  const reports = generateReports(n + 20, 'floor');
  const deps = await decodeDeps();
  progress('floor: decoding reports');
  const raws = reports.map((r) => r.raw);
  const decodeMs = await cpuPerCall(n, (i) => decodeMessage(raws[i % raws.length] ?? Buffer.alloc(0), deps));

  const sealer = createSealer(await teamKey());
  const staffKeys = (['alice', 'bob', 'carol'] as const).map((k) => publicKey(k));
  const text = 'Thank you for your report. '.repeat(40);
  progress('floor: composing signed and encrypted mail');
  const signedMs = await cpuPerCall(n, (i) => composeMail(mail(i, text), { kind: 'signed' }, sealer));
  const encryptedMs = await cpuPerCall(n, (i) =>
    composeMail(mail(i, text), { kind: 'encrypted', recipientKeys: staffKeys }, sealer),
  );

  progress('floor: handing mail to Postfix');
  const transport = pooledTransport(stack, 1);
  const raw = Buffer.from(`Subject: bench\r\n\r\n${'x'.repeat(76)}\r\n`.repeat(50));
  const envelope = { from: address(stack, 'oncall'), to: [address(stack, 'reporter3')] };
  let smtpMs: number;
  try {
    smtpMs = await cpuPerCall(n, () => transport.sendMail({ envelope, raw }));
  } finally {
    transport.close();
  }
  return {
    decodeMs,
    signedMs,
    encryptedMs,
    smtpMs,
    // One report: its decode, one acknowledgment (signed), one notification (encrypted), two sends.
    perReportMs: decodeMs + signedMs + encryptedMs + 2 * smtpMs,
  };
}

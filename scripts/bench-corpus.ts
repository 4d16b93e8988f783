/**
 * The benchmark's reports: generated deterministically (a seeded PRNG), text/plain 2–5 KB,
 * distinct senders (plus addresses of the stack's reporter mailboxes, so acknowledgments are
 * delivered) and distinct Message-IDs. With a gpg, every third report is PGP/MIME signed and
 * encrypted to the team key by the real gpg, by one of three reporter keys — Curve25519,
 * RSA-3072, RSA-4096 — whose public key rides inside, so the acknowledgment is encrypted too.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../test/support/stack.js';

export interface BenchReport {
  raw: Buffer;
  messageId: string;
  sender: string;
  encrypted: boolean;
}

export interface BenchGpg {
  teamFingerprint: string;
  /** Reporter keys: sender address → fingerprint and armored public key. */
  keys: { address: string; fingerprint: string; armored: string; kind: string }[];
  run(args: string[], input: Buffer): Buffer;
}

/** mulberry32: a small, well-known seeded PRNG, so every run generates the same corpus. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'the login form parameter reflects script session token buffer overflow heap parser request header cookie redirect injection firmware update signature bypass upload path traversal cross site request forgery authentication endpoint version release crash reproduce steps attacker victim server response payload'.split(
    ' ',
  );

function body(rand: () => number, i: number): string {
  const target = 2048 + Math.floor(rand() * 3072);
  const lines = [`Hello security team,`, '', `report ${i}: I found a problem in your product.`, ''];
  let size = lines.join('\n').length;
  while (size < target) {
    const words = Array.from(
      { length: 8 + Math.floor(rand() * 6) },
      () => WORDS[Math.floor(rand() * WORDS.length)],
    );
    const line = words.join(' ');
    lines.push(line);
    size += line.length + 1;
  }
  lines.push('', 'Regards,', `Researcher ${i}`);
  return lines.join('\n');
}

const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

/** Makes a throwaway GNUPGHOME with the team's public key and three reporter keys, runs `fn`. */
export async function benchGpg<T>(fn: (gpg: BenchGpg) => T | Promise<T>): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), 'psirt-bench-gpg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const base = ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--trust-model', 'always'];
  const run = (args: string[], input?: Buffer): Buffer =>
    execFileSync('gpg', [...base, ...args], {
      env,
      input,
      stdio: ['pipe', 'pipe', 'ignore'],
      maxBuffer: 1 << 28,
    });
  try {
    run(['--import', join(REPO, 'test', 'fixtures', 'keys', 'team.pub.asc')]);
    const fingerprintOf = (uid: string): string =>
      /^fpr:+([0-9A-F]{40}):/m.exec(run(['--with-colons', '--fingerprint', uid]).toString())?.[1] ?? '';
    const teamFingerprint = fingerprintOf('security@psirt.test');
    const keys: BenchGpg['keys'] = [];
    for (const [user, kind, primary, sub] of [
      ['reporter1', 'cv25519', 'ed25519', 'cv25519'],
      ['reporter2', 'rsa3072', 'rsa3072', 'rsa3072'],
      ['reporter3', 'rsa4096', 'rsa4096', 'rsa4096'],
    ] as const) {
      const address = `${user}+${kind}@psirt.test`;
      process.stderr.write(`bench: generating a ${kind} reporter key\n`);
      run(['--quick-generate-key', `Bench ${kind} <${address}>`, primary, 'sign', 'never']);
      const fpr = fingerprintOf(address);
      run(['--quick-add-key', fpr, sub, 'encr', 'never']);
      keys.push({ address, fingerprint: fpr, armored: run(['--armor', '--export', fpr]).toString(), kind });
    }
    return await fn({ teamFingerprint, keys, run });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** N reports for one scenario; with `gpg`, every third one is signed and encrypted. */
export function generateReports(n: number, scenario: string, gpg?: BenchGpg): BenchReport[] {
  const rand = prng(0x5ec0de + scenario.length);
  const out: BenchReport[] = [];
  for (let i = 0; i < n; i++) {
    const messageId = `bench-${scenario}-${i}@bench.psirt.test`;
    const text = body(rand, i);
    const encrypt = gpg !== undefined && i % 3 === 2;
    const key = encrypt ? gpg.keys[Math.floor(i / 3) % gpg.keys.length] : undefined;
    const sender = key?.address ?? `reporter${(i % 3) + 1}+b${i}@psirt.test`;
    const head = [
      `From: Researcher ${i} <${sender}>`,
      'To: security@psirt.test',
      `Subject: Vulnerability report ${i}`,
      `Date: ${new Date(Date.UTC(2026, 10, 24, 12, 0, i % 60)).toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${messageId}>`,
      'MIME-Version: 1.0',
    ];
    if (key === undefined || gpg === undefined) {
      out.push({
        raw: Buffer.from(crlf(`${head.join('\n')}\nContent-Type: text/plain; charset=utf-8\n\n${text}\n`)),
        messageId,
        sender,
        encrypted: false,
      });
      continue;
    }
    const b = `bench-inner-${i}`;
    const inner = crlf(
      `Content-Type: multipart/mixed; boundary="${b}"\n\n--${b}\nContent-Type: text/plain; charset=utf-8\n\n${text}\n--${b}\nContent-Type: application/pgp-keys; name="key.asc"\nContent-Disposition: attachment; filename="key.asc"\n\n${key.armored}\n--${b}--\n`,
    );
    const armored = gpg
      .run(
        [
          '--armor',
          '--sign',
          '--local-user',
          key.fingerprint,
          '--encrypt',
          '--recipient',
          gpg.teamFingerprint,
        ],
        Buffer.from(inner),
      )
      .toString();
    const o = `bench-outer-${i}`;
    const raw = crlf(
      `${head.join('\n')}\nContent-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${o}"\n\n--${o}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--${o}\nContent-Type: application/octet-stream; name="encrypted.asc"\n\n${armored}\n--${o}--\n`,
    );
    out.push({ raw: Buffer.from(raw), messageId, sender, encrypted: true });
    if ((i + 1) % 60 === 0)
      process.stderr.write(`bench: encrypted ${Math.ceil((i + 1) / 3)} reports with gpg\n`);
  }
  return out;
}

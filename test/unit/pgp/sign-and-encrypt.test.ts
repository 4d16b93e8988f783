import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PsirtError } from '../../../src/core/errors.js';
import { detachedSign, micalgOf, signAndEncrypt } from '../../../src/pgp/sign-and-encrypt.js';
import { KEYS_DIR, publicKey, teamKey } from '../../support/mail-fixtures.js';

const run = promisify(execFile);

/** The team key's primary key id: gpg names it in GOODSIG. */
const TEAM_KEY_ID = '0F2409846A82D91C';

/** A throw-away GnuPG home holding reporter1's secret key and the team's public key. */
let home: string;
const gpg = (args: string[]) =>
  run('gpg', ['--batch', '--no-tty', '--status-fd', '1', ...args], {
    env: { ...process.env, GNUPGHOME: home },
  });

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'psirt-gpg-'));
  await gpg(['--import', join(KEYS_DIR, 'reporter1.sec.asc'), join(KEYS_DIR, 'team.pub.asc')]);
});

afterAll(async () => {
  await run('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: home } });
  await rm(home, { recursive: true, force: true });
});

describe('signAndEncrypt()', () => {
  it('produces a message that gpg 2.2 decrypts with the recipient key and shows a GOODSIG from the team key', async () => {
    const plaintext = Buffer.from('Content-Type: text/plain; charset=utf-8\r\n\r\nWe fixed it. Grüße\r\n');
    const armored = await signAndEncrypt(plaintext, {
      signingKey: await teamKey(),
      encryptionKeys: [publicKey('reporter1')],
    });
    const file = join(home, 'message.asc');
    await writeFile(file, armored);
    const { stdout } = await gpg(['--output', join(home, 'out'), '--decrypt', file]);
    expect(stdout).toContain('[GNUPG:] DECRYPTION_OKAY');
    expect(stdout).toMatch(new RegExp(`^\\[GNUPG:\\] GOODSIG ${TEAM_KEY_ID} `, 'm'));
    expect(await readFile(join(home, 'out'))).toEqual(plaintext);
  });

  it('writes SEIPD v1, never the AEAD packet gpg 2.2 cannot read', async () => {
    const armored = await signAndEncrypt(Buffer.from('x'), {
      signingKey: await teamKey(),
      encryptionKeys: [publicKey('reporter1')],
    });
    const file = join(home, 'packets.asc');
    await writeFile(file, armored);
    const { stdout } = await run('gpg', ['--batch', '--list-packets', '--list-only', file], {
      env: { ...process.env, GNUPGHOME: home },
    });
    expect(stdout).toMatch(/encrypted data packet:[\s\S]*mdc_method: 2/);
  });

  it('refuses an empty recipient list', async () => {
    const err = await signAndEncrypt(Buffer.from('x'), {
      signingKey: await teamKey(),
      encryptionKeys: [],
    }).catch((e: unknown) => e);
    expect((err as PsirtError).code).toBe('pgp_no_recipients');
  });

  it('names an unreadable recipient key by its index, not its content', async () => {
    const err = await signAndEncrypt(Buffer.from('x'), {
      signingKey: await teamKey(),
      encryptionKeys: [publicKey('reporter1'), 'not a key at all'],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PsirtError);
    expect((err as PsirtError).code).toBe('pgp_recipient_key_invalid');
    expect((err as PsirtError).message).toBe('encryption key 1 is not a readable OpenPGP key');
  });
});

describe('detachedSign()', () => {
  it('makes a detached signature that gpg verifies over the same bytes', async () => {
    const data = Buffer.from('Content-Type: text/plain\r\n\r\nsigned part');
    const signature = await detachedSign(data, await teamKey());
    await writeFile(join(home, 'part'), data);
    await writeFile(join(home, 'part.asc'), signature);
    const { stdout } = await gpg(['--verify', join(home, 'part.asc'), join(home, 'part')]);
    expect(stdout).toMatch(new RegExp(`^\\[GNUPG:\\] GOODSIG ${TEAM_KEY_ID} `, 'm'));
  });

  it('gives the micalg of the hash gpg reports for the signature', async () => {
    const data = Buffer.from('x');
    const signature = await detachedSign(data, await teamKey());
    await writeFile(join(home, 'x'), data);
    await writeFile(join(home, 'x.asc'), signature);
    const { stdout } = await gpg(['--verify', join(home, 'x.asc'), join(home, 'x')]);
    // VALIDSIG <fpr> <date> <ts> <expires> <version> <reserved> <pubkey-algo> <hash-algo> …
    const hashAlgo = /^\[GNUPG:\] VALIDSIG (?:\S+ ){7}(\d+)/m.exec(stdout)?.[1];
    const names: Record<string, string> = {
      '8': 'pgp-sha256',
      '9': 'pgp-sha384',
      '10': 'pgp-sha512',
      '11': 'pgp-sha224',
    };
    expect(await micalgOf(signature)).toBe(names[hashAlgo ?? '']);
  });
});

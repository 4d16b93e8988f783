import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { commandCapableStaff } from '../config/command-auth.js';
import { configDigest } from '../config/digest.js';
import type { Config } from '../config/schema.js';
import { systemClock, type Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { loadTeamKeys, type TeamKey } from '../pgp/keyring.js';
import { cleartextSign } from '../pgp/sign-and-encrypt.js';
import { renderProgram } from '../program/render.js';
import type { ProgramDocument } from '../program/types.js';
import { EXIT_CONFIG, EXIT_FAILED, exitWith } from './context.js';

/**
 * `psirt program --out DIR`: the ISO/IEC 18974 §4.2.1–4.2.2 documents, rendered from the loaded
 * configuration (the one the service enforces) and written into DIR; security.txt is
 * cleartext-signed with the first team key (RFC 9116 §2.3).
 */

export interface WrittenFile {
  file: string;
  clauses: string[];
  bytes: number;
  sha256: string;
}

/** The first team key, or exit 1 naming the key that failed (pgp.keys[N]). */
async function signingKey(cfg: Config, clock: Clock): Promise<TeamKey> {
  try {
    const [first] = await loadTeamKeys(cfg.pgp, clock);
    if (first === undefined) return exitWith(EXIT_CONFIG, 'pgp.keys: no team key configured');
    return first;
  } catch (err) {
    return exitWith(EXIT_FAILED, describeError(err));
  }
}

/** The documents, or exit 2: rendering reads only the configuration, so a failure is a config key. */
function render(cfg: Config, key: TeamKey, at: Date): ProgramDocument[] {
  try {
    return renderProgram({
      config: cfg,
      teamKey: { fingerprint: key.fingerprint, expires: key.expires },
      configDigest: configDigest(cfg),
      generatedAt: at,
    });
  } catch (err) {
    return exitWith(EXIT_CONFIG, describeError(err));
  }
}

/** Signs security.txt (at the wall clock: gpg checks the signature date); other files as rendered. */
async function finalContent(doc: ProgramDocument, key: TeamKey): Promise<string> {
  if (doc.file !== 'security.txt') return doc.content;
  try {
    return await cleartextSign(doc.content, key);
  } catch (err) {
    return exitWith(EXIT_FAILED, describeError(err));
  }
}

/**
 * What the documents promise that this configuration cannot keep (#12 trial): printed on stderr
 * after the files, exit code unchanged — the documents are true, the set-up is incomplete.
 */
export function programWarnings(cfg: Config, key: Pick<TeamKey, 'expires' | 'fingerprint'>): string[] {
  const out: string[] = [];
  const { can } = commandCapableStaff(cfg);
  if (!can.some((m) => m.roles.includes('security')))
    out.push(
      'no security staff member can send commands with this configuration (see `psirt doctor`, line "staff commands")',
    );
  const expires = cfg.public_channel.expires === undefined ? null : new Date(cfg.public_channel.expires);
  if (key.expires !== null && expires !== null && key.expires < expires)
    out.push(
      `the signing team key ${key.fingerprint} expires ${key.expires.toISOString()}, before security.txt's Expires ` +
        `${expires.toISOString()}: its signature stops verifying first; extend the key or move public_channel.expires`,
    );
  return out;
}

/** `psirt program --out DIR [--json]`. */
export async function program(cfg: Config, opts: { out: string; json?: boolean }): Promise<void> {
  const dir = resolve(opts.out);
  const key = await signingKey(cfg, systemClock);
  const at = systemClock.now();
  const docs = render(cfg, key, at);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    exitWith(EXIT_FAILED, `--out: cannot create ${dir} (${describeError(err)})`);
  }
  const written: WrittenFile[] = [];
  for (const doc of docs) {
    const bytes = Buffer.from(await finalContent(doc, key), 'utf8');
    try {
      writeFileSync(join(dir, doc.file), bytes);
    } catch (err) {
      exitWith(EXIT_FAILED, `cannot write ${join(dir, doc.file)} (${describeError(err)})`);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    written.push({ file: doc.file, clauses: doc.clauses, bytes: bytes.length, sha256 });
    if (!opts.json) process.stdout.write(`wrote ${join(dir, doc.file)}  §${doc.clauses.join(', §')}\n`);
  }
  const digest = configDigest(cfg);
  for (const w of programWarnings(cfg, key)) process.stderr.write(`psirt: warning: ${w}\n`);
  if (opts.json) {
    const result = {
      dir,
      configDigest: digest,
      generatedAt: at.toISOString(),
      signedBy: key.fingerprint,
      files: written,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    `${written.length} files in ${dir} from configuration sha256:${digest}; security.txt signed by ${key.fingerprint}\n`,
  );
}

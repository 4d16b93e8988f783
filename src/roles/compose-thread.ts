import { parentPort, workerData } from 'node:worker_threads';
import { composeMail, type OutgoingMail, type Protection } from '../8-outbox/compose.js';
import { unlockedTeamKey } from '../pgp/keyring.js';
import { createSealer } from '../pgp/sealer.js';

/**
 * The composition root of one compose thread (#16, src/roles/compose-pool.ts): it holds the
 * unlocked team key it was started with and turns each mail it is sent into its signed or
 * encrypted RFC 5322 bytes — the CPU-heavy half of sending (OpenPGP, MIME), off the main thread.
 * It reads nothing, writes nothing and logs nothing: mail in, bytes out.
 */

export interface ComposeRequest {
  id: number;
  mail: OutgoingMail;
  protection: Protection;
}

export type ComposeReply =
  | { id: number; ok: true; raw: Uint8Array }
  | { id: number; ok: false; error: { name: string; code: string | null; message: string } };

const port = parentPort;
if (port === null) throw new Error('compose-thread runs only as a worker thread');
const { teamKey } = workerData as { teamKey: string };
const sealer = createSealer(await unlockedTeamKey(teamKey));

/** A reply with an error, as the pool rebuilds it (class, code and message; never the mail). */
function failure(id: number, err: unknown): ComposeReply {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return {
    id,
    ok: false,
    error: { name: e.name, code: typeof code === 'string' ? code : null, message: e.message },
  };
}

port.on('message', (req: ComposeRequest) => {
  composeMail({ ...req.mail, date: new Date(req.mail.date) }, req.protection, sealer)
    .then((raw) => {
      // Only a buffer that owns its whole ArrayBuffer is moved: a small one is a slice of Node's
      // shared pool, which newer Node versions refuse to transfer (a copy is made instead).
      const whole = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength;
      const reply: ComposeReply = {
        id: req.id,
        ok: true,
        raw: whole ? raw : Uint8Array.prototype.slice.call(raw),
      };
      port.postMessage(reply, [reply.raw.buffer as ArrayBuffer]);
    })
    .catch((err: unknown) => port.postMessage(failure(req.id, err)));
});
port.postMessage({ ready: true });

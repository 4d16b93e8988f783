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

port.on('message', (req: ComposeRequest) => {
  composeMail({ ...req.mail, date: new Date(req.mail.date) }, req.protection, sealer).then(
    (raw) => {
      const reply: ComposeReply = { id: req.id, ok: true, raw };
      port.postMessage(reply, [raw.buffer as ArrayBuffer]);
    },
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      const code = (e as { code?: unknown }).code;
      const reply: ComposeReply = {
        id: req.id,
        ok: false,
        error: { name: e.name, code: typeof code === 'string' ? code : null, message: e.message },
      };
      port.postMessage(reply);
    },
  );
});
port.postMessage({ ready: true });

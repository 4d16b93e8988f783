import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * The worker's code (a script, so it runs from src/ under the tests as from dist/): it imports
 * OpenPGP.js from the URL it is given, unlocks the key and posts it back, unlocked and armored.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.openpgp)
  .then(async (openpgp) => {
    const locked = await openpgp.readPrivateKey({ armoredKey: workerData.armored });
    const key = await openpgp.decryptKey({ privateKey: locked, passphrase: workerData.passphrase });
    parentPort.postMessage({ ok: true, armored: key.armor() });
  })
  .catch((err) => parentPort.postMessage({ ok: false, error: String((err && err.message) || err) }));
`;

/** Why a passphrase did not unlock the key (OpenPGP.js's message: it names neither key nor passphrase). */
export class UnlockError extends Error {}

/**
 * Unlocks a passphrase-protected secret key in a short-lived worker thread and returns it
 * unlocked, armored (#16). OpenPGP.js derives an iterated-and-salted S2K key by building the whole
 * iterated input in memory — GnuPG's usual count makes that about 65 MB for each of the primary key
 * and its subkey, at once — and the main thread would keep those buffers until a major GC that an
 * idle service never triggers (it sat at ~300 MB RSS). A worker's heap goes when it ends, so the
 * service's memory after start is what it uses. The unlocked key only ever travels inside this
 * process (a message between threads), as it would live in it anyway.
 */
export function unlockInWorker(armored: string, passphrase: string): Promise<string> {
  const openpgpUrl = pathToFileURL(createRequire(import.meta.url).resolve('openpgp')).href;
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { openpgp: openpgpUrl, armored, passphrase },
    });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (m: { ok: true; armored: string } | { ok: false; error: string }) =>
      finish(() => (m.ok ? resolve(m.armored) : reject(new UnlockError(m.error)))),
    );
    worker.once('error', (err) => finish(() => reject(err)));
    worker.once('exit', (code) =>
      finish(() =>
        reject(new Error(`the key unlocking thread ended (exit ${String(code)}) without an answer`)),
      ),
    );
  });
}

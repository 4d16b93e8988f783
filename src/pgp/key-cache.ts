import * as openpgp from 'openpgp';

/** Reads one armored key (openpgp.readKey by default; tests count the calls). */
export type ReadArmoredKey = (armoredKey: string) => Promise<openpgp.Key>;

const readArmoredKey: ReadArmoredKey = (armoredKey) => openpgp.readKey({ armoredKey });

/**
 * Parsed recipient public keys, keyed by their armored text, at most `limit` of them, the least
 * recently used dropped first (issue #16).
 *
 * Reading a key is cheap; checking it is not: openpgp verifies a key's binding signatures
 * (EdDSA, RSA) each time it picks the key's encryption subkey, unless that same parsed packet
 * was verified before (openpgp 6 caches the result on the signature packet). Re-reading the same
 * staff or reporter key for every mail paid those verifications again and again. Only the
 * cryptographic check is cached, by openpgp: expiry and revocation are still judged against the
 * date of each use. The same armored text always parses to the same key, so the cache can never
 * answer with another key; a text that does not parse is not kept.
 */
export class PublicKeyCache {
  readonly #limit: number;
  readonly #read: ReadArmoredKey;
  readonly #keys = new Map<string, Promise<openpgp.PublicKey>>();

  constructor(limit = 256, read: ReadArmoredKey = readArmoredKey) {
    this.#limit = Math.max(1, limit);
    this.#read = read;
  }

  /** The public key of `armored` (a private key's public part), parsed once while it is kept. */
  get(armored: string): Promise<openpgp.PublicKey> {
    const kept = this.#keys.get(armored);
    if (kept !== undefined) {
      // Most recently used last: Map keeps insertion order, so the first entry is the oldest.
      this.#keys.delete(armored);
      this.#keys.set(armored, kept);
      return kept;
    }
    const parsed = Promise.resolve(armored)
      .then(this.#read)
      .then((key) => key.toPublic());
    this.#keys.set(armored, parsed);
    parsed.catch(() => {
      if (this.#keys.get(armored) === parsed) this.#keys.delete(armored);
    });
    while (this.#keys.size > this.#limit) {
      const oldest = this.#keys.keys().next();
      if (oldest.done === true) break;
      this.#keys.delete(oldest.value);
    }
    return parsed;
  }

  /** How many keys are kept now. */
  get size(): number {
    return this.#keys.size;
  }
}

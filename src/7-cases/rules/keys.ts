import type { FoundKey } from '../../2-decode/types.js';
import type { NewEvent } from '../events.js';

/** A key already stored for the sender's address. */
export interface StoredKey {
  id: number;
  fingerprint: string;
  status: string;
}

export interface KeyPins {
  /** Stored keys seen again (their `last_seen_at` moves). */
  seen: number[];
  /** New keys: the first for the address is `pinned`, any later one `changed`. */
  inserts: {
    fingerprint: string;
    armored: string;
    source: FoundKey['source'];
    status: 'pinned' | 'changed';
  }[];
  /** One event per new key, in order (type and data; the caller adds case, actor and Message-ID). */
  events: { type: 'reporter-key.pinned' | 'reporter-key.changed'; data: NonNullable<NewEvent['data']> }[];
  /** A key differing from the pinned one arrived: the case gets the `key-changed` flag. */
  keyChanged: boolean;
  /** The fingerprints pinned for the address after these writes. */
  pinned: ReadonlySet<string>;
}

/**
 * Pins the reporter's keys on first use (trust on first use). A different key for an address
 * that already has a pinned one is stored as `changed`, flagged on the case and shown to staff —
 * never silently swapped in. Only keys whose user IDs name the sender count.
 */
export function planKeyPins(
  sender: string,
  keys: readonly FoundKey[],
  stored: readonly StoredKey[],
): KeyPins {
  const known: (StoredKey | { id: null; fingerprint: string; status: string })[] = [...stored];
  const pins: KeyPins = { seen: [], inserts: [], events: [], keyChanged: false, pinned: new Set() };
  if (sender !== '') {
    for (const k of keys) {
      if (!k.addresses.includes(sender)) continue;
      const existing = known.find((s) => s.fingerprint === k.fingerprint);
      if (existing) {
        // A key this very mail brought twice: stored a moment ago, nothing to move.
        if (existing.id !== null) pins.seen.push(existing.id);
        continue;
      }
      const pinned = known.find((s) => s.status === 'pinned');
      const status = pinned ? 'changed' : 'pinned';
      known.push({ id: null, fingerprint: k.fingerprint, status });
      pins.inserts.push({ fingerprint: k.fingerprint, armored: k.armored, source: k.source, status });
      pins.events.push({
        type: pinned ? 'reporter-key.changed' : 'reporter-key.pinned',
        data: {
          fingerprint: k.fingerprint,
          source: k.source,
          ...(pinned ? { pinned: pinned.fingerprint } : {}),
        },
      });
      if (pinned) pins.keyChanged = true;
    }
  }
  pins.pinned = new Set(known.filter((s) => s.status === 'pinned').map((s) => s.fingerprint));
  return pins;
}

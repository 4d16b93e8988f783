import type { Clock } from '../core/clock.js';
import type { Db } from './db.js';

/** A stored, wrapped data key (`seal_keys`, #13). */
export interface SealKeyRow {
  id: number;
  createdAt: string;
  /** Uppercase fingerprints of the team keys the data key is wrapped to. */
  fingerprints: string[];
  /** The armored OpenPGP message holding the data key. */
  wrapped: string;
}

export function loadSealKeys(db: Db): SealKeyRow[] {
  return (
    db.prepare('SELECT id, created_at, fingerprints, wrapped FROM seal_keys ORDER BY id').all() as {
      id: number;
      created_at: string;
      fingerprints: string;
      wrapped: string;
    }[]
  ).map((r) => ({
    id: r.id,
    createdAt: r.created_at,
    fingerprints: JSON.parse(r.fingerprints) as string[],
    wrapped: r.wrapped,
  }));
}

/** The newest data key wrapped to exactly this one team key, if any. */
export function newestSealKeyFor(db: Db, fingerprint: string): SealKeyRow | null {
  return (
    [...loadSealKeys(db)]
      .reverse()
      .find((r) => r.fingerprints.length === 1 && r.fingerprints[0] === fingerprint) ?? null
  );
}

/**
 * Stores a wrapped data key for `fingerprint` unless another process stored one meanwhile (two
 * processes starting at once): in one immediate transaction, so every process ends up sealing
 * with the same key. Returns the stored row's id and whether it is ours.
 */
export function insertSealKey(
  db: Db,
  clock: Clock,
  fingerprint: string,
  wrapped: string,
): { id: number; ours: boolean } {
  return db
    .transaction(() => {
      const existing = newestSealKeyFor(db, fingerprint);
      if (existing !== null) return { id: existing.id, ours: false };
      const info = db
        .prepare('INSERT INTO seal_keys (created_at, fingerprints, wrapped) VALUES (?, ?, ?)')
        .run(clock.now().toISOString(), JSON.stringify([fingerprint]), wrapped);
      return { id: Number(info.lastInsertRowid), ours: true };
    })
    .immediate();
}

import { sealedKeyId } from '../core/vault.js';
import type { Db } from './db.js';
import { fileHead, spoolFiles } from './seal-backlog.js';

/** How many sealed records each data key seals (doctor, #13). */
export interface DataKeyCensus {
  /** The data key id (`seal_keys.id`); null for a key id no `seal_keys` row has. */
  id: number;
  /** The team keys it is wrapped to (uppercase fingerprints); empty when the row is missing. */
  fingerprints: string[];
  raw: number;
  spool: number;
  subjects: number;
}

/**
 * Counts the sealed records per data key, by the key id in each record's header (bytes 5–8 of the
 * sealed layout), in SQL — no blob is loaded into JS — and from the head of each spool file.
 */
export function sealedRecordCensus(db: Db, spoolDir?: string): DataKeyCensus[] {
  const byId = new Map<number, DataKeyCensus>();
  const entry = (id: number): DataKeyCensus => {
    let e = byId.get(id);
    if (e === undefined) {
      e = { id, fingerprints: [], raw: 0, spool: 0, subjects: 0 };
      byId.set(id, e);
    }
    return e;
  };
  for (const row of db.prepare('SELECT id, fingerprints FROM seal_keys ORDER BY id').all() as {
    id: number;
    fingerprints: string;
  }[])
    entry(row.id).fingerprints = JSON.parse(row.fingerprints) as string[];
  const counted = db
    .prepare(
      `SELECT kind, hex(substr(blob, 5, 4)) AS kid, count(*) AS n FROM (
         SELECT 'raw' AS kind, raw AS blob FROM messages WHERE raw IS NOT NULL AND length(raw) >= 36 AND substr(raw, 1, 4) = X'50534C31'
         UNION ALL
         SELECT 'subjects', subject_sealed FROM cases WHERE subject_sealed IS NOT NULL AND length(subject_sealed) >= 36 AND substr(subject_sealed, 1, 4) = X'50534C31'
       ) GROUP BY kind, kid`,
    )
    .all() as { kind: 'raw' | 'subjects'; kid: string; n: number }[];
  for (const c of counted) entry(Number.parseInt(c.kid, 16))[c.kind] += c.n;
  for (const file of spoolFiles(db, spoolDir)) {
    const id = sealedKeyId(fileHead(file));
    if (id !== null) entry(id).spool += 1;
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

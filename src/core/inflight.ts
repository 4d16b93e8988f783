import { closeSync, ftruncateSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

/** A batch of stored messages (row id and IMAP UID each) and the one being worked on. */
export interface InFlight {
  rows: { id: number; uid: number }[];
  /** The row whose decode or apply runs now (a batch-mate, or a known message processed alone). */
  at: number;
}

/**
 * Which message of an intake batch is being worked on (issue #16, DESIGN.md invariant 8), kept
 * in a small file beside the database so that after a crash only that message is charged the
 * attempt the batch counted for all of them: the others get theirs back and are then processed
 * alone. NB! Written without fsync, on purpose: it only has to outlive the process (a throw
 * outside any promise, a kill, the OOM killer), not the machine. After a power cut it may be
 * missing or old; then every batch-mate keeps the attempt counted (safe: one attempt more,
 * never one less), and an old one names rows that are no longer `received` (nothing to give back).
 * It holds row ids and UIDs only, nothing of the mail (invariant 6).
 */
export interface InFlightMarker {
  mark(state: InFlight): void;
  /** The batch ended without a crash (committed, or each failure recorded). */
  clear(): void;
  /** What a crashed process left behind, or null (none, or a partial write: nothing is given back). */
  read(): InFlight | null;
}

/** The marker of the database at `dbPath`; a no-op for an in-memory database. */
export function inFlightMarker(dbPath: string): InFlightMarker {
  if (dbPath === '' || dbPath === ':memory:')
    return { mark: () => undefined, clear: () => undefined, read: () => null };
  const path = `${dbPath}-intake-batch`;
  // Open for the whole batch and rewritten in place (one write and a truncate per mail, not an
  // open/write/close: #16 measured ~1 ms a mail that way). A crash between the write and the
  // truncate leaves an older, longer tail: not one whole JSON, so nothing is given back (safe).
  let fd: number | null = null;
  return {
    mark(state) {
      fd ??= openSync(path, 'w', 0o600);
      const bytes = Buffer.from(JSON.stringify(state));
      writeSync(fd, bytes, 0, bytes.length, 0);
      ftruncateSync(fd, bytes.length);
    },
    clear() {
      if (fd !== null) closeSync(fd);
      fd = null;
      rmSync(path, { force: true });
    },
    read() {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      return parseInFlight(text);
    },
  };
}

/** The marker's content, or null when it is not one whole (a write cut short by the crash). */
export function parseInFlight(text: string): InFlight | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Cut short by the crash: nothing to give back, every batch-mate keeps its attempt (safe).
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { rows, at } = value as { rows?: unknown; at?: unknown };
  if (!Number.isSafeInteger(at) || !Array.isArray(rows)) return null;
  const out: InFlight['rows'] = [];
  for (const r of rows as unknown[]) {
    const { id, uid } = (r ?? {}) as { id?: unknown; uid?: unknown };
    if (!Number.isSafeInteger(id) || !Number.isSafeInteger(uid)) return null;
    out.push({ id: id as number, uid: uid as number });
  }
  return { rows: out, at: at as number };
}

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Every byte at rest beside a database: the file, its WAL and journal, and the spool folder —
 * what a canary grep (`grep -a`) over the data folder reads.
 */
export function bytesAtRest(dbPath: string): Buffer {
  const dir = dirname(dbPath);
  const files = readdirSync(dir)
    .map((f) => join(dir, f))
    .filter((f) => !f.endsWith('spool'));
  const spool = join(dir, 'spool');
  if (existsSync(spool)) files.push(...readdirSync(spool).map((f) => join(spool, f)));
  return Buffer.concat(files.map((f) => readFileSync(f)));
}

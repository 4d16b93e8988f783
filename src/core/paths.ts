import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The package root (the folder holding package.json, config/ and migrations/), found by walking
 * up from this module, so it is the same whether the code runs from `src/` (tsx) or `dist/src/`.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) {
      cached = dir;
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('psirt-inbox: cannot find the package root (package.json + migrations/)');
    dir = up;
  }
}

/** The version in package.json: `psirt --version`, and the procedure history records it per start. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The spool folder of oversize raw mail: `spool/` beside the database (the intake, backup, restore). */
export function spoolDirFor(databasePath: string): string {
  return join(dirname(databasePath), 'spool');
}

import { execFileSync } from 'node:child_process';
import { REPO } from './stack.js';

/** e2e tests run the built CLI (dist/), as production does: build it once per run. */
export default function setup(): void {
  execFileSync(process.execPath, [`${REPO}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], {
    cwd: REPO,
    stdio: 'inherit',
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './stack.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLI = join(REPO, 'dist', 'workers', 'cli.js');

/** Environment for the CLI: nothing inherited that could point it elsewhere (PSIRT_*), plus `env`. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PSIRT_')));
  return { ...base, ...env };
}

/** Runs the built `psirt` CLI to completion. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: cliEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`psirt ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running `psirt` process; the caller stops it. Output is collected in `out`. */
export function spawnCli(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; out: { text: string } } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: cliEnv(env) });
  const out = { text: '' };
  child.stdout.on('data', (d: Buffer) => (out.text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.text += d.toString()));
  return { child, out };
}

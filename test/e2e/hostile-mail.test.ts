import { workerStack } from '../support/worker-stack.js';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli.js';
import { tempDbPath } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import {
  deliver,
  drainSecurityInbox,
  fixture,
  inSecurityFolder,
  queryDb,
  startService,
} from '../support/service.js';
import { REPO, stackEnv, type StackInfo } from '../support/stack.js';

// #10 item 4, DESIGN.md invariant 8: one hostile mail never stops the desk.
const stack = workerStack();

interface MessageRow {
  id: number;
  attempts: number;
  failure: string | null;
  filed_to: string | null;
  last_error: string | null;
  case_id: string | null;
}

const messageRow = (dbPath: string, messageId: string): MessageRow | undefined =>
  queryDb<MessageRow>(
    dbPath,
    'SELECT id, attempts, failure, filed_to, last_error, case_id FROM messages WHERE message_id = ?',
    messageId,
  )[0];

/** States of the staff notifications about one stored message. */
const staffNotices = (dbPath: string, rowId: number): string[] =>
  queryDb<{ state: string }>(
    dbPath,
    "SELECT state FROM outbox WHERE kind = 'staff-notification' AND payload ->> '$.messageRowId' = ?",
    rowId,
  ).map((r) => r.state);

/**
 * Runs `psirt start` the way a supervisor (systemd `Restart=always`, a container restart policy)
 * does: whenever it exits on its own it is started again. Only the test's stop() ends it.
 */
function supervise(s: StackInfo, env: Record<string, string>) {
  const exits: (number | string | null)[] = [];
  let child: ChildProcess;
  let out = '';
  let stopping = false;
  const spawnOnce = (): void => {
    const started = spawnCli(['start'], stackEnv(s, env));
    child = started.child;
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code, signal) => {
      if (stopping) return;
      exits.push(code ?? signal);
      setTimeout(spawnOnce, 200);
    });
  };
  spawnOnce();
  return {
    exits,
    output: () => out,
    async stop(): Promise<void> {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

describe('one hostile mail never stops the desk (#10)', () => {
  it('the 160-byte multipart mail whose last part has an empty Content-Type becomes a case, and the next report is processed', async () => {
    await drainSecurityInbox(stack);
    const service = await startService(stack);
    try {
      const hostile = fixture('hostile-empty-content-type.eml');
      const next = fixture('report-plain.eml');
      await deliver(stack, hostile.raw);
      await deliver(stack, next.raw);
      const row = await eventually(
        () => {
          const r = messageRow(service.dbPath, next.messageId);
          return r?.filed_to === 'processed' ? r : undefined;
        },
        { timeoutMs: 30_000, what: 'the report after the hostile mail filed' },
      );
      expect(row.case_id).not.toBeNull();
      expect(messageRow(service.dbPath, hostile.messageId)).toMatchObject({
        attempts: 1,
        failure: null,
        filed_to: 'processed',
      });
      expect(service.child.exitCode).toBeNull();
    } finally {
      await service.stop();
    }
  });

  it(
    'a mail that throws outside any promise at decode, and one that kills the process there, are each quarantined after intake.max_attempts with staff told; later mail is processed',
    { timeout: 240_000 },
    async () => {
      await drainSecurityInbox(stack);
      const dbPath = tempDbPath();
      // TEST ONLY fault injection, loaded into the service process by node itself (workers/start.ts).
      const hook = pathToFileURL(join(REPO, 'test', 'support', 'fault-injection.ts')).href;
      const service = supervise(stack, {
        PSIRT_DATABASE__PATH: dbPath,
        PSIRT_LOG__LEVEL: 'info',
        PSIRT_INTAKE__MAX_ATTEMPTS: '3',
        PSIRT_ACKNOWLEDGMENT__MAX_PER_SENDER_PER_HOUR: '10000',
        NODE_OPTIONS: `--import tsx --import ${hook}`,
      });
      try {
        const withFault = (mode: string) => {
          const f = fixture('hostile-empty-content-type.eml');
          return { ...f, raw: Buffer.concat([Buffer.from(`X-Psirt-Test-Fault: ${mode}\r\n`), f.raw]) };
        };
        // The marker is not the first header line: the hook looks for it after a line break.
        const throwing = withFault('uncaught');
        const killing = withFault('kill');
        const later = fixture('report-plain.eml');
        for (const m of [throwing, killing, later]) {
          m.raw = Buffer.concat([Buffer.from('Received: from e2e\r\n'), m.raw]);
          await deliver(stack, m.raw);
        }
        // One batch files the later report to Processed and then the two to Quarantine (two IMAP
        // moves, in that order): wait until all three are filed, not only the first move.
        const filed = await eventually(
          () => {
            const r = messageRow(dbPath, later.messageId);
            const quarantined = [throwing, killing].every(
              (m) => messageRow(dbPath, m.messageId)?.filed_to === 'quarantine',
            );
            return r?.filed_to === 'processed' && quarantined ? r : undefined;
          },
          { timeoutMs: 200_000, intervalMs: 500, what: 'the later report processed, the two quarantined' },
        );
        expect(filed.case_id).not.toBeNull();
        for (const m of [throwing, killing]) {
          const row = messageRow(dbPath, m.messageId);
          expect(row).toMatchObject({ attempts: 4, failure: 'processing-failed', filed_to: 'quarantine' });
          expect(await inSecurityFolder(stack, 'Quarantine', m.messageId)).toBe(true);
          const rowId = row?.id ?? 0;
          await eventually(
            () => {
              const states = staffNotices(dbPath, rowId);
              return states.length > 0 && states.every((s) => s === 'sent') ? states : undefined;
            },
            { timeoutMs: 30_000, what: 'staff told about the quarantined mail' },
          );
        }
        // Both ended the process before an error could be recorded (the throw: logged by the
        // last-resort handler, exit 70; the kill: a crash): the quarantine records that it stopped.
        for (const m of [throwing, killing])
          expect(messageRow(dbPath, m.messageId)?.last_error).toBe(
            'the process stopped during processing (crash or kill), 3 time(s)',
          );
        expect(service.output()).toContain('"process.uncaught-exception"');
        expect(service.exits.filter((e) => e === 70)).toHaveLength(3);
        expect(service.exits.filter((e) => e === 'SIGKILL')).toHaveLength(3);
      } finally {
        await service.stop();
      }
    },
  );
});

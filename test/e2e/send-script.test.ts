import { workerStack } from '../support/worker-stack.js';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { drainSecurityInbox, queryDb, startService, type RunningService } from '../support/service.js';
import { REPO } from '../support/stack.js';

// Issue #10: the README's walk-through mails a report and a signed staff command into the local
// stack with `npm run send`; both must do what the README says.
const stack = workerStack();
const run = promisify(execFile);
let service: RunningService;

const send = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'send.ts'), ...args], { cwd: REPO });

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack);
});
afterAll(async () => {
  expect(await service.stop()).toBe(0);
});

describe('npm run send', () => {
  it('mails an encrypted report that opens a case, then a signed command that applies to it', async () => {
    const subject = `Sent by the script ${randomUUID().slice(0, 8)}`;
    const report = await send(['report', '--from', 'reporter2', '--encrypt', '--subject', subject]);
    expect(report.stdout).toMatch(/^sent report <.+> from reporter2@psirt\.test \(signed and encrypted\)$/m);
    const messageId = /<(.+)>/.exec(report.stdout)?.[1] ?? '';
    const caseId = await eventually(
      () =>
        queryDb<{ case_id: string }>(
          service.dbPath,
          "SELECT case_id FROM messages WHERE message_id = ? AND state = 'applied'",
          messageId,
        )[0]?.case_id,
      { timeoutMs: 20_000, what: 'the case' },
    );
    const verdict = queryDb<{ e: string; s: string }>(
      service.dbPath,
      "SELECT verdict ->> '$.encryption.state' AS e, verdict ->> '$.signature.state' AS s FROM messages WHERE message_id = ?",
      messageId,
    )[0];
    expect(verdict).toEqual({ e: 'decrypted', s: 'valid' });
    await send(['command', caseId, '/assign bob /severity high']);
    await eventually(
      () =>
        queryDb<{ assignee: string | null; severity: string | null }>(
          service.dbPath,
          'SELECT assignee, severity FROM cases WHERE id = ?',
          caseId,
        ).find((c) => c.assignee === 'bob@psirt.test' && c.severity === 'high'),
      { timeoutMs: 20_000, what: 'the command applied' },
    );
  }, 90_000);
});

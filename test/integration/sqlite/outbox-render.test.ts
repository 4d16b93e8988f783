import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { loadOutbox } from '../../../src/7-cases/outbox-store.js';
import { deliverOutbox, renderOutbox } from '../../../src/8-outbox/deliver.js';
import { formatDate } from '../../../src/8-outbox/render.js';
import { outboxOfEveryKind, renderDeps } from '../../support/outbox-rows.js';
import { goldenOf } from '../../support/rendered-golden.js';
import { REPO } from '../../support/stack.js';

describe('renderOutbox()', () => {
  it('renders a row of every mail kind byte for byte as the mailer before the kind modules did (#11)', async () => {
    // The golden file was written by workers/deliver-outbox.ts as of 4dbd2e1, from these rows;
    // the two channel-expiry rows at its end (#12, a kind added later) were reviewed when added.
    const golden: unknown = JSON.parse(
      readFileSync(join(REPO, 'test/fixtures/rendered/every-kind.json'), 'utf8'),
    );
    const { db, rows } = outboxOfEveryKind();
    const deps = await renderDeps(db);
    const rendered = [];
    for (const row of rows) rendered.push(goldenOf(row, await renderOutbox(deps, row)));
    expect(rendered).toEqual(golden);
  });

  it("promises the reporter the case's stored verify deadline, the one the sweep enforces (#12)", async () => {
    const { db, rows } = outboxOfEveryKind();
    const ack = rows.find((r) => r.kind === 'acknowledgment')!;
    // A verify deadline that the policy alone would not give (as after a pause or a reopen).
    db.prepare("UPDATE deadlines SET due_at = ? WHERE case_id = ? AND kind = 'verify'").run(
      '2026-12-03T08:30:00.000Z',
      ack.case_id,
    );
    const { mail } = await renderOutbox(await renderDeps(db), ack);
    expect(mail.text).toContain(`severity) by ${formatDate('2026-12-03T08:30:00.000Z', 'UTC')}.`);
  });

  it('states the safe-harbour promise of public_channel.safe_harbour, as SECURITY.md does (#12 review)', async () => {
    const { db, rows } = outboxOfEveryKind();
    const ack = rows.find((r) => r.kind === 'acknowledgment')!;
    const deps = await renderDeps(db);
    const words = 'Research in good faith under this policy is authorised; we will not pursue it in court.';
    const config = { ...deps.config, public_channel: { ...deps.config.public_channel, safe_harbour: words } };
    const { mail } = await renderOutbox({ ...deps, config }, ack);
    expect(mail.text.replace(/\s+/g, ' ')).toContain(words);
    // Wrapped for mail: the promise's lines are at most 72 characters.
    const lines = mail.text.split(/\r?\n/);
    const first = lines.findIndex((l) => l.startsWith('Research in good faith'));
    expect(lines.slice(first, first + 2).map((l) => l.length <= 72)).toEqual([true, true]);
    expect(`${lines[first]} ${lines[first + 1]}`).toBe(words);
  });
});

describe('deliverOutbox()', () => {
  describe('when the stored payload lacks a field its kind requires (a row from an older version)', () => {
    async function deliverBroken() {
      const { db, rows } = outboxOfEveryKind();
      const status = rows.find((r) => r.kind === 'reporter-status')!;
      const older = Object.fromEntries(
        Object.entries(status.payload as object).filter(([field]) => field !== 'statusEvent'),
      );
      db.prepare('UPDATE outbox SET payload = ? WHERE id = ?').run(JSON.stringify(older), status.id);
      const deps = await renderDeps(db);
      const sendMail = vi.spyOn(deps.transport, 'sendMail');
      const logged: string[] = [];
      deps.log = pino({ level: 'info' }, { write: (line: string) => logged.push(line) });
      const alerts = await deliverOutbox(deps, status.id);
      return { db, id: status.id, sendMail, logged, alerts };
    }

    it('fails the row permanently with an error naming the row, the template and the field', async () => {
      const { db, id } = await deliverBroken();
      const row = loadOutbox(db, id)!;
      expect(row.state).toBe('failed');
      expect(row.last_error).toMatch(new RegExp(`^outbox row ${id} \\(reporter-status\\): .*statusEvent`));
    });

    it('sends nothing and tells staff through a delivery-failed alert', async () => {
      const { db, sendMail, alerts } = await deliverBroken();
      expect(sendMail).not.toHaveBeenCalled();
      expect(alerts).toHaveLength(1);
      expect(loadOutbox(db, alerts[0]!)!.payload).toMatchObject({ template: 'delivery-failed' });
    });

    it('logs the event with the template and field names only', async () => {
      const { logged } = await deliverBroken();
      expect(logged.map((l) => JSON.parse(l) as unknown)).toContainEqual(
        expect.objectContaining({
          event: 'outbox.payload-invalid',
          template: 'reporter-status',
          fields: ['statusEvent'],
          msg: 'the stored payload does not parse',
        }),
      );
      // Nothing of the payload's values: not the case's CVE, not its tags.
      expect(logged.join('')).not.toMatch(/firmware|CVSS/);
    });
  });
});

import { mailboxCensus } from '../1-intake/mailbox-census.js';
import type { ImapOAuth2 } from '../1-intake/imap-client.js';
import type { Config } from '../config/schema.js';
import { adoptionState, describeOpenAdoptions, openAdoptions } from '../7-cases/adoption-store.js';
import type { Db } from '../7-cases/db.js';
import { getCheckpoint } from '../7-cases/intake-store.js';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { formatSpan } from '../policy/wording.js';

const UNIT_MS = { calendar_days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1000 } as const;

/** The refusal of a first start on a mailbox full of old mail (issue #15): one line naming the fix. */
export class AdoptionNeeded extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdoptionNeeded';
  }
}

/** `intake.adopt_older_than` as milliseconds (elapsed time; business days are refused by the schema). */
export function adoptThresholdMs(config: Config): number {
  const span = config.intake.adopt_older_than;
  return span.amount * UNIT_MS[span.unit];
}

/**
 * Before the intake's first start (issue #15): refuses when `imap.mailbox` holds mail older
 * than `intake.adopt_older_than` and no adoption is recorded — otherwise that mail would be
 * answered as new reports, years late. Passes when an adoption of the mailbox (or `--none`) is
 * recorded, or when the intake already has a checkpoint (it ran before). An unfinished import
 * always refuses: its stored mail must not be answered as new.
 */
export async function checkAdoption(
  config: Config,
  db: Db,
  clock: Clock,
  oauth: ImapOAuth2 | null = null,
): Promise<void> {
  const mailbox = config.imap.mailbox;
  const state = adoptionState(db, mailbox);
  if (state === 'adopted') return;
  if (state === 'interrupted')
    throw new AdoptionNeeded(
      `an import of old mail was interrupted (${describeOpenAdoptions(openAdoptions(db))}): finish it, or abandon it with \`psirt import --none\` (the mail it did not reach is then answered as new)`,
    );
  if (getCheckpoint(db, mailbox) !== null) return;
  const before = new Date(clock.now().getTime() - adoptThresholdMs(config));
  let older: number;
  try {
    ({ older } = await mailboxCensus(config.imap, before, oauth));
  } catch (err) {
    throw new AdoptionNeeded(
      `cannot check ${mailbox} for old mail before the first start: ${describeError(err)}`,
    );
  }
  if (older > 0)
    throw new AdoptionNeeded(
      `${mailbox} holds ${older} message(s) older than ${formatSpan(config.intake.adopt_older_than)} and no adoption is recorded: run \`psirt import\` to record them as history first (or \`psirt import --none\` to answer them as new)`,
    );
}

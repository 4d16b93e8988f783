import type { DecodedMessage } from '../2-decode/types.js';
import { formatFingerprint } from '../core/fingerprint.js';

/** What a staff notification shows of a report: text, attachment list, verdicts, decode notes. */
export interface ReportView {
  subject: string | null;
  report: string;
  attachments: { name: string; contentType: string; size: number; sha256: string; decrypted: boolean }[];
  encryption: string;
  signature: string;
  /** Decode problems (malformed Autocrypt, partial signatures…): never report content. */
  problems: string[];
}

const MAX_INLINE_ATTACHMENT_TEXT = 256 * 1024;

/**
 * The staff view of a decoded report. Decrypted text attachments (a report sent as
 * `report.txt.gpg`) are appended to the report text, since staff could not read them otherwise.
 */
export function reportView(d: DecodedMessage): ReportView {
  const encryption =
    d.encryption.state === 'decrypted'
      ? `decrypted (${d.encryption.format})`
      : d.encryption.state === 'failed'
        ? `FAILED: ${d.encryption.reason}`
        : 'none (sent in clear)';
  const signature =
    d.signature.state === 'valid'
      ? `valid, ${formatFingerprint(d.signature.fingerprint)}`
      : d.signature.state === 'none'
        ? 'none'
        : `${d.signature.state.toUpperCase()} (key id ${d.signature.keyId ?? 'unknown'})`;
  let report = d.text;
  for (const a of d.attachments) {
    if (
      !a.decrypted ||
      a.contentOmitted ||
      !a.contentType.startsWith('text/') ||
      a.size > MAX_INLINE_ATTACHMENT_TEXT
    )
      continue;
    report += `\n\n----- decrypted attachment ${a.filename ?? '(unnamed)'} -----\n${a.content.toString('utf8')}`;
  }
  return {
    subject: d.subject,
    report,
    attachments: d.attachments.map((a) => ({
      name: a.filename ?? '(unnamed)',
      contentType: a.contentType,
      size: a.size,
      sha256: a.sha256,
      decrypted: a.decrypted,
    })),
    encryption,
    signature,
    problems: d.problems,
  };
}

/** The view for mail that was not decoded (oversize, unparseable). */
export const UNDECODED_VIEW: ReportView = {
  subject: null,
  report: '',
  attachments: [],
  encryption: 'not decoded',
  signature: 'not checked',
  problems: [],
};

/**
 * Recent report views by message row (a few entries). The intake puts the view of what it just
 * decoded here, so in the one-process deployment the mailer neither reads the raw mail back nor
 * decodes it again; a separate mailer process fills it on first use. One decode serves all staff.
 */
export class ReportCache {
  private readonly entries = new Map<number, Promise<ReportView>>();
  private readonly size: number;
  constructor(size = 8) {
    this.size = size;
  }

  put(rowId: number, view: ReportView): void {
    this.entries.set(rowId, Promise.resolve(view));
    this.trim();
  }

  get(rowId: number, load: () => Promise<ReportView>): Promise<ReportView> {
    let hit = this.entries.get(rowId);
    if (hit === undefined) {
      hit = load();
      // A failed decode is not cached: the next notification tries again.
      hit.catch(() => this.entries.delete(rowId));
      this.entries.set(rowId, hit);
      this.trim();
    }
    return hit;
  }

  private trim(): void {
    while (this.entries.size > this.size) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}

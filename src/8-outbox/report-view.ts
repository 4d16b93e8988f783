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
 * Recent report views by message row. The intake puts the view of what it just decoded here, so
 * in the one-process deployment the mailer neither reads the raw mail back nor decodes it again;
 * a separate mailer process fills it on first use. One decode serves all staff.
 * Bounded by the text it holds (`maxChars`, ~16 MB by default) and by `maxEntries`: #16 found
 * the eight entries it used to keep evicted in a burst — the acknowledgments go first, so by the
 * time a batch's staff notifications were rendered every report was decoded a second time. A
 * view larger than a quarter of the budget is not kept.
 */
export class ReportCache {
  private readonly entries = new Map<number, { view: Promise<ReportView>; chars: number }>();
  private chars = 0;
  private readonly maxEntries: number;
  private readonly maxChars: number;
  constructor(opts: { maxEntries?: number; maxChars?: number } = {}) {
    this.maxEntries = opts.maxEntries ?? 4096;
    this.maxChars = opts.maxChars ?? 8 * 1024 * 1024;
  }

  put(rowId: number, view: ReportView): void {
    this.remember(rowId, Promise.resolve(view), sizeOf(view));
  }

  get(rowId: number, load: () => Promise<ReportView>): Promise<ReportView> {
    const hit = this.entries.get(rowId);
    if (hit !== undefined) return hit.view;
    const view = load();
    // A failed decode is not cached: the next notification tries again.
    view.then(
      (v) => {
        if (this.entries.get(rowId)?.view !== view) return;
        this.forget(rowId);
        this.remember(rowId, view, sizeOf(v));
      },
      () => {
        if (this.entries.get(rowId)?.view === view) this.forget(rowId);
      },
    );
    // Held while it loads, so concurrent notifications share one decode.
    this.remember(rowId, view, 0);
    return view;
  }

  /** How many views are held (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  private remember(rowId: number, view: Promise<ReportView>, chars: number): void {
    this.forget(rowId);
    if (chars > this.maxChars / 4) return;
    this.entries.set(rowId, { view, chars });
    this.chars += chars;
    while (this.entries.size > this.maxEntries || this.chars > this.maxChars) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
  }

  private forget(rowId: number): void {
    const e = this.entries.get(rowId);
    if (e === undefined) return;
    this.entries.delete(rowId);
    this.chars -= e.chars;
  }
}

/** The characters a view holds (its text is what can be large). */
function sizeOf(v: ReportView): number {
  return v.report.length + (v.subject?.length ?? 0) + v.attachments.length * 128;
}

/**
 * Measures what decodeMessage() costs in memory for a plain report carrying one 20 MB
 * attachment (base64, as mail carries it). Not a test: RSS depends on the allocator and the
 * machine. Run (add `mailparser` to measure mailparser's simpleParser alone):
 *
 *   node --expose-gc --import tsx test/support/measure-decode-memory.ts [mailparser] [warm]
 *
 * `warm` first runs the same code once on a small mail of the same shape, so that one-time costs
 * (lazily loaded modules, compiled code: ~15 MB of RSS here) are left out of the figures; by
 * default the call is measured cold, as the first mail after a worker starts would be.
 *
 * RSS and Buffer memory are sampled every millisecond while the call runs (a sample can only be
 * taken when the event loop is free, so the count of samples is printed too) and once at return;
 * the figures are growth over the baseline taken after GC, which already holds the raw message.
 * The acceptance criterion is a peak growth under 3x the attachment size.
 */
import { randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { decodeMessage } from '../../src/3-unwrap/unwrap.js';
import { decodeDeps } from './mail-fixtures.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const MB = 1 << 20;
const payload = randomBytes(20 * MB);
const raw = mailWith(payload);

/** The report: a short text and `attachment` as a base64 application/octet-stream part. */
function mailWith(attachment: Buffer): Buffer {
  return Buffer.from(
    [
      'From: Reporter One <reporter1@psirt.test>',
      'To: security@psirt.test',
      'Subject: big proof of concept',
      'Message-ID: <big@reporter.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'The capture is attached.',
      '--b',
      'Content-Type: application/octet-stream; name="capture.pcap"',
      'Content-Disposition: attachment; filename="capture.pcap"',
      'Content-Transfer-Encoding: base64',
      '',
      (attachment.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n'),
      '--b--',
      '',
    ].join('\r\n'),
  );
}
const deps = await decodeDeps();
const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

/** Collects garbage until RSS stops shrinking, so the building of the test message is not counted. */
async function settle(): Promise<void> {
  let last = Infinity;
  for (let i = 0; i < 10; i += 1) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const rss = process.memoryUsage().rss;
    if (rss >= last - MB) return;
    last = rss;
  }
}

/** Runs `work` and returns the RSS growth over the pre-run baseline: peak, and after a GC. */
async function measure<T>(work: () => Promise<T>): Promise<{
  result: T;
  peak: number;
  end: number;
  retained: number;
  buffersPeak: number;
  samples: number;
  ms: number;
}> {
  await settle();
  const base = process.memoryUsage();
  let peak = base.rss;
  let buffersPeak = base.arrayBuffers;
  let samples = 0;
  const sample = () => {
    samples += 1;
    const now = process.memoryUsage();
    peak = Math.max(peak, now.rss);
    buffersPeak = Math.max(buffersPeak, now.arrayBuffers);
  };
  const timer = setInterval(sample, 1);
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  clearInterval(timer);
  sample();
  const end = process.memoryUsage().rss - base.rss;
  await settle();
  return {
    result,
    peak: peak - base.rss,
    end,
    retained: process.memoryUsage().rss - base.rss,
    buffersPeak: buffersPeak - base.arrayBuffers,
    samples,
    ms,
  };
}

// One measurement per process: freed memory stays in RSS, so a second run in the same process
// would start from a polluted baseline. `mailparser` measures simpleParser alone, for comparison.
const args = process.argv.slice(2);
const what = args.includes('mailparser') ? 'mailparser' : 'decodeMessage';
const sizes = async (mail: Buffer) =>
  what === 'mailparser'
    ? (await simpleParser(mail)).attachments.map((a) => a.size)
    : (await decodeMessage(mail, deps)).attachments.map((a) => a.size);
const warm = args.includes('warm');
if (warm) await sizes(mailWith(randomBytes(2 * MB)));
const run = await measure(() => sizes(raw));
if (run.result[0] !== payload.length) throw new Error('attachment not decoded');
console.log(
  `${what}${warm ? ' (warm)' : ''}: raw ${mb(raw.length)} with a ${mb(payload.length)} attachment: RSS at return +${mb(run.end)}, ` +
    `sampled peak +${mb(run.peak)} (${run.samples} samples), after gc +${mb(run.retained)}, ` +
    `Buffer peak +${mb(run.buffersPeak)}, ${run.ms.toFixed(0)} ms; ` +
    `peak = ${(run.peak / payload.length).toFixed(2)}x the attachment, ${(run.peak / raw.length).toFixed(2)}x the raw mail ` +
    `(criterion: < 3x the attachment: ${run.peak < 3 * payload.length ? 'met' : 'NOT met'})`,
);

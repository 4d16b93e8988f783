import cliProgress from 'cli-progress';

/**
 * Progress of long per-case CLI work on stderr (`label` names it): a bar on a terminal, otherwise
 * a line every `every` cases and at the end — log collectors get lines, people get a bar.
 */
export function caseProgress(
  label: string,
  every: number,
): { onCase: (done: number, total: number) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: `${label} [{bar}] {value}/{total} cases`, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      onCase: (done, total) => {
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(done);
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  return {
    onCase: (done, total) => {
      if (done % every === 0 || (done === total && total >= every))
        process.stderr.write(`psirt: ${label} ${String(done)}/${String(total)} cases\n`);
    },
    stop: () => undefined,
  };
}

/**
 * Progress of `psirt import` (issue #15) on stderr: on a terminal a bar with the count, the rate
 * and the ETA; otherwise a plain line every `everyMs` and at the end (log collectors).
 */
export function messageProgress(
  label: string,
  total: number,
  everyMs = 5000,
): { tick: (done: number) => void; stop: () => void } {
  const started = Date.now();
  const rate = (done: number): number => done / Math.max(0.001, (Date.now() - started) / 1000);
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label} [{bar}] {value}/{total} messages | {rate}/s | ETA {eta_formatted}`,
        etaBuffer: 100,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.0' });
    return {
      tick: (done) => bar.update(done, { rate: rate(done).toFixed(1) }),
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  const line = (done: number): void => {
    const r = rate(done);
    const eta = r > 0 ? Math.round((total - done) / r) : 0;
    process.stderr.write(
      `psirt: ${label} ${String(done)}/${String(total)} messages, ${r.toFixed(1)}/s, ETA ${String(eta)} s\n`,
    );
  };
  let lastDone = 0;
  return {
    tick: (done) => {
      lastDone = done;
      const now = Date.now();
      if (now - last >= everyMs) {
        last = now;
        line(done);
      }
    },
    stop: () => line(lastDone),
  };
}

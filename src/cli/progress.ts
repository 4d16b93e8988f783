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

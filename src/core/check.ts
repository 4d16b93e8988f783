/**
 * The outcome of one `psirt doctor` check: what was checked, the verdict, and the fix. A warning
 * (`warning: true`) is still `ok` — nothing is broken yet, doctor exits 0 — but it says what to
 * do before it breaks (an expiry ahead, a review date passed), with the fix.
 */
export interface CheckResult {
  name: string;
  ok: boolean;
  warning?: true;
  detail: string;
  fix?: string;
}

export function pass(name: string, detail: string): CheckResult {
  return { name, ok: true, detail };
}

export function fail(name: string, detail: string, fix: string): CheckResult {
  return { name, ok: false, detail, fix };
}

/** Still working, but act before it fails: doctor marks it `!` and prints the fix. */
export function warn(name: string, detail: string, fix: string): CheckResult {
  return { name, ok: true, warning: true, detail, fix };
}

/**
 * One error type for the whole service (STYLE.md rule 3): a stable `code`, whether a retry can
 * help (`retryable`), and the ES2022 `cause`. Callers branch on `code`, never on `message`.
 */
export class PsirtError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.name = 'PsirtError';
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** Exhaustiveness guard for `switch` over discriminated unions. */
export function assertNever(value: never): never {
  throw new PsirtError('unreachable', `unexpected value ${JSON.stringify(value)}`);
}

/** A short, single-line description of any thrown value, safe for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const text = err.message.replace(/\s+/g, ' ').trim();
    // Prefix system codes (ECONNREFUSED, EAUTH) that the message does not already carry.
    return typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code) && !text.includes(code)
      ? `${code}: ${text}`
      : text;
  }
  return String(err);
}

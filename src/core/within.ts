/** `p`, or a rejection naming `what` when it has not settled within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${String(ms)} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether `p` settled (resolved or rejected) within `ms`. For shutdown steps that must not hang a
 * stopping process: the caller goes on either way, and says so when it did not.
 */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await within(
      p.catch(() => undefined),
      ms,
      'shutdown step',
    );
    return true;
  } catch {
    return false;
  }
}

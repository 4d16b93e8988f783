/**
 * In-Reply-To and References of a mail on a thread whose Message-IDs are `ids`, oldest first.
 * RFC 5322 §3.6.4: keep the first and the most recent ones when the chain grows long.
 */
export function threadOf(ids: readonly string[]): { inReplyTo: string | null; references: string[] } {
  const unique = [...new Set(ids)];
  const references = unique.length > 20 ? [unique[0] ?? '', ...unique.slice(-19)] : unique;
  return { inReplyTo: unique.at(-1) ?? null, references };
}

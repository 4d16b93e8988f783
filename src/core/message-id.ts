import { randomBytes } from 'node:crypto';

/**
 * A Message-ID we mint for an outbox row: case, kind, and a random token so it cannot be guessed
 * to inject a reply (first contact's `replied-to-us` proof relies on it). The one place Message-IDs
 * are minted; the stores call it when they write an outbox row.
 */
export function mintMessageId(caseId: string, kind: string, domain: string): string {
  return `${caseId.toLowerCase()}.${kind}.${randomBytes(6).toString('hex')}@${domain}`;
}

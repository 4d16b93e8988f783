import type { Vault } from '../core/vault.js';

/**
 * The real subject of a case's report, as kept at rest (#13): `cases.subject` holds only
 * PROTECTED_SUBJECT for every report, and `cases.subject_sealed` holds this, sealed. `protected`
 * says whether the report's subject was itself protected (it arrived encrypted or with protected
 * headers, decision 0005): such a subject travels only inside encrypted mail, while the subject
 * of a report sent in clear may appear in clear mail to its reporter as before.
 */
export interface CaseSubject {
  subject: string | null;
  protected: boolean;
}

export function sealSubject(vault: Vault, s: CaseSubject): Buffer {
  return vault.seal(JSON.stringify(s), 'cases.subject');
}

/** Opens a sealed case subject; throws the vault's error (never the content) when it cannot. */
export function openSubject(vault: Vault, sealed: Uint8Array): CaseSubject {
  const parsed = JSON.parse(vault.openText(sealed, 'cases.subject')) as Partial<
    Record<keyof CaseSubject, unknown>
  >;
  return {
    subject: typeof parsed.subject === 'string' ? parsed.subject : null,
    protected: parsed.protected === true,
  };
}

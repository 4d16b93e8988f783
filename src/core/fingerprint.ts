/**
 * An OpenPGP fingerprint in groups of four, the way people compare them (and gpg prints them):
 * `7039 1E1F 60DD 1FCF 4E66  5A80 0F24 0984 6A82 D91C`. Shared by the mails and the published
 * program documents, so a reporter compares one spelling everywhere.
 */
export function formatFingerprint(fpr: string): string {
  const groups = fpr.toUpperCase().match(/.{1,4}/g) ?? [];
  const half = groups.length / 2;
  return `${groups.slice(0, half).join(' ')}  ${groups.slice(half).join(' ')}`;
}

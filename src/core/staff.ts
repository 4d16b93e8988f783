/** What finding a staff member by address needs of one (structural: core imports no config). */
export interface Addressed {
  /** Lower case: the config schema normalises every configured address. */
  readonly address: string;
}

/**
 * The one look-up of a staff member by mail address (issue #11): `staff` as the config schema
 * parsed it (addresses lower-cased there), `address` as received — compared case-insensitively.
 */
export function staffByAddress<T extends Addressed>(staff: readonly T[], address: string): T | undefined {
  const wanted = address.toLowerCase();
  return staff.find((m) => m.address === wanted);
}

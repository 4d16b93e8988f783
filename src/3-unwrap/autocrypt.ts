export type AutocryptKey =
  | { kind: 'key'; keydata: Uint8Array }
  /** The header was ignored: not well-formed, or its `addr` is not the From address. */
  | { kind: 'ignored'; why: 'malformed' | 'addr-mismatch' };

/**
 * Reads the Autocrypt header (Autocrypt Level 1 §2.1): `addr=…; [prefer-encrypt=mutual;]
 * keydata=<base64 of a binary key>`. The key counts only when `addr` is the From address
 * (compared case-insensitively); an unknown attribute without a leading underscore makes the
 * header invalid, as the spec requires.
 */
export function readAutocryptKey(header: string, from: string | null): AutocryptKey {
  const attributes = new Map<string, string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    if (attributes.has(name)) return { kind: 'ignored', why: 'malformed' };
    attributes.set(name, part.slice(eq + 1).trim());
  }
  for (const name of attributes.keys()) {
    if (!['addr', 'prefer-encrypt', 'keydata'].includes(name) && !name.startsWith('_'))
      return { kind: 'ignored', why: 'malformed' };
  }
  const addr = attributes.get('addr')?.toLowerCase();
  const keydata = attributes.get('keydata')?.replace(/\s+/g, '');
  if (addr === undefined || keydata === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(keydata))
    return { kind: 'ignored', why: 'malformed' };
  if (from === null || addr !== from.toLowerCase()) return { kind: 'ignored', why: 'addr-mismatch' };
  return { kind: 'key', keydata: Buffer.from(keydata, 'base64') };
}

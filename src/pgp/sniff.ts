/**
 * What kind of OpenPGP data a blob holds, from its armor header line or its first packet tag
 * (RFC 9580 §4.2), without parsing it. Used to decide what to do with an attachment before
 * handing it to openpgp; a wrong guess only means openpgp rejects it later.
 */
export type OpenPgpDataKind = 'message' | 'cleartext' | 'public-key' | 'secret-key' | 'signature';

const ARMOR_KINDS: Readonly<Record<string, OpenPgpDataKind>> = {
  MESSAGE: 'message',
  'SIGNED MESSAGE': 'cleartext',
  'PUBLIC KEY BLOCK': 'public-key',
  'PRIVATE KEY BLOCK': 'secret-key',
  SIGNATURE: 'signature',
};
const ARMOR_HEADER =
  /^-----BEGIN PGP (MESSAGE|SIGNED MESSAGE|PUBLIC KEY BLOCK|PRIVATE KEY BLOCK|SIGNATURE)-----/m;

/** Packet tags (RFC 9580 §5) that can open an OpenPGP message, a key or a signature. */
const TAG_KINDS: ReadonlyMap<number, OpenPgpDataKind> = new Map([
  [1, 'message'], // public-key encrypted session key
  [3, 'message'], // symmetric-key encrypted session key
  [4, 'message'], // one-pass signature
  [8, 'message'], // compressed data
  [11, 'message'], // literal data
  [18, 'message'], // SEIPD
  [20, 'message'], // AEAD encrypted data (LibrePGP)
  [2, 'signature'],
  [6, 'public-key'],
  [5, 'secret-key'],
]);

/** How far into a blob to look for an armor header (clients put a little text before it). */
const ARMOR_SCAN_BYTES = 4096;

/**
 * Sniffs armored or binary OpenPGP data. An armored blob is recognised when its first armor
 * header line starts within the first 4 KiB; a binary one by its first packet's tag.
 */
export function sniffOpenPgp(data: Uint8Array): OpenPgpDataKind | null {
  if (data.length === 0) return null;
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.length, ARMOR_SCAN_BYTES)).toString(
    'latin1',
  );
  const armor = sniffArmor(head);
  if (armor !== null) return armor;
  const first = data[0] ?? 0;
  if ((first & 0x80) === 0) return null;
  // New format: bits 5..0 are the tag; old format: bits 5..2.
  const tag = (first & 0x40) !== 0 ? first & 0x3f : (first >> 2) & 0x0f;
  return TAG_KINDS.get(tag) ?? null;
}

/** The kind of the first armor header line in `text`, or null when there is none. */
export function sniffArmor(text: string): OpenPgpDataKind | null {
  const label = ARMOR_HEADER.exec(text)?.[1];
  return label === undefined ? null : (ARMOR_KINDS[label] ?? null);
}

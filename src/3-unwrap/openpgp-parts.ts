import type { KeepRule } from '../2-decode/decode.js';
import type { MimePart } from '../2-decode/mime-tree.js';
import type { PartInfo } from '../2-decode/parse-mime.js';
import { sniffArmor, sniffOpenPgp, type OpenPgpDataKind } from '../pgp/sniff.js';

/** File names that announce OpenPGP data. */
const PGP_NAME = /\.(gpg|pgp|asc|key|pub)$/i;
const PGP_TYPES = new Set(['application/pgp-encrypted', 'application/pgp-keys', 'application/pgp']);
/** Attachments whose content unwrap reads whatever their size (besides sniffed OpenPGP data). */
const KEEP_TYPES = new Set([...PGP_TYPES, 'application/pgp-signature']);

/** RFC 3156 §4: `multipart/encrypted; protocol="application/pgp-encrypted"`. */
export function isPgpMimeEncrypted(tree: MimePart): boolean {
  const protocol = tree.contentType.params.get('protocol')?.toLowerCase();
  return tree.contentType.type === 'multipart/encrypted' && protocol === 'application/pgp-encrypted';
}

/**
 * Which attachment contents parsing keeps beyond the small ones: everything of a PGP/MIME
 * encrypted entity (RFC 3156 §4: the control part and the OpenPGP message), signatures, and
 * whatever is or looks like OpenPGP data (the same test the attachment walk applies), since
 * unwrap decrypts, verifies or reads keys from those. Anything else large is hashed and dropped.
 */
export const KEEP_OPENPGP: KeepRule = (tree) => {
  if (isPgpMimeEncrypted(tree)) return () => true;
  return (part, head) => KEEP_TYPES.has(part.contentType) || openPgpKindOf(part, head) !== null;
};

/**
 * What OpenPGP data an attachment holds, from its content (or only the first 4 KiB of it: the
 * answer is the same). Armored data is recognised in any attachment; binary data only where the
 * name or type announces OpenPGP (a random binary may start like a packet). A forwarded message
 * (message/*) is never looked into.
 */
export function openPgpKindOf(
  part: Pick<PartInfo, 'contentType' | 'filename'>,
  content: Buffer,
): OpenPgpDataKind | null {
  if (part.contentType.startsWith('message/')) return null;
  const announced =
    PGP_TYPES.has(part.contentType) || (part.filename !== undefined && PGP_NAME.test(part.filename));
  if (announced) return sniffOpenPgp(content);
  const head = content.subarray(0, 4096).toString('latin1');
  return sniffArmor(head);
}

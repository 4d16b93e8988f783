import { createHash } from 'node:crypto';
import { assertNever } from '../core/errors.js';
import { attachmentAsIs } from '../2-decode/decode.js';
import { KEEP_SMALL_BYTES, type ParsedPart } from '../2-decode/parse-mime.js';
import type { DecodedAttachment, EncryptionVerdict } from '../2-decode/types.js';
import { openMessage } from '../pgp/decrypt-message.js';
import { guessContentType } from './content-type.js';
import { bufferView, MAX_PGP_DEPTH, type Context, type Level } from './context.js';
import { collectKeys } from './keys.js';
import { openPgpKindOf } from './openpgp-parts.js';

/**
 * The attachments of one entity: public keys are collected (and kept), secret keys dropped,
 * encrypted attachments decrypted; the verdict is that of the first failure, else the first success.
 */
export async function unwrapAttachments(
  parts: readonly ParsedPart[],
  ctx: Context,
  level: Level,
): Promise<{ attachments: DecodedAttachment[]; verdict: EncryptionVerdict | null }> {
  const attachments: DecodedAttachment[] = [];
  let verdict: EncryptionVerdict | null = null;
  for (const [i, attachment] of parts.entries()) {
    const label = `attachment ${i + 1}${level.insideEncrypted ? ' of the encrypted part' : ''}`;
    // Omitted content was sniffed while it streamed and found to hold no OpenPGP data.
    const kind = attachment.contentOmitted ? null : openPgpKindOf(attachment, attachment.content);
    switch (kind) {
      case 'secret-key':
        ctx.problems.push(`${label} held secret key material and was dropped`);
        break;
      case 'public-key':
        await collectKeys(
          attachment.content,
          level.insideEncrypted ? 'encrypted-part' : 'attachment',
          label,
          ctx,
        );
        attachments.push(attachmentAsIs(attachment));
        break;
      case 'message': {
        const opened = await decryptAttachment(attachment, label, ctx, level);
        attachments.push(opened.attachment);
        // The first failure wins over successes: staff must hear that something stayed unreadable.
        if (opened.verdict !== null && (verdict === null || isFirstFailure(opened.verdict, verdict)))
          verdict = opened.verdict;
        break;
      }
      case 'cleartext':
      case 'signature':
      case null:
        attachments.push(attachmentAsIs(attachment));
        break;
      default:
        assertNever(kind);
    }
  }
  return { attachments, verdict };
}

function isFirstFailure(next: EncryptionVerdict, current: EncryptionVerdict): boolean {
  return next.state === 'failed' && current.state !== 'failed';
}

/** Decrypts an encrypted attachment; on failure the attachment stays as it came. */
async function decryptAttachment(
  attachment: ParsedPart,
  label: string,
  ctx: Context,
  level: Level,
): Promise<{ attachment: DecodedAttachment; verdict: EncryptionVerdict | null }> {
  if (level.depth >= MAX_PGP_DEPTH) {
    ctx.problems.push(`${label} is encrypted content nested too deeply; left encrypted`);
    return { attachment: attachmentAsIs(attachment), verdict: null };
  }
  const opened = await openMessage(attachment.content, ctx.deps.teamKeys, ctx.limits);
  switch (opened.kind) {
    case 'failed':
      ctx.problems.push(`${label} could not be decrypted (${opened.reason}: ${opened.detail})`);
      return {
        attachment: attachmentAsIs(attachment),
        verdict: {
          state: 'failed',
          format: 'attachment',
          keyIds: opened.recipientKeyIds,
          reason: opened.reason,
        },
      };
    case 'not-encrypted':
      return { attachment: attachmentAsIs(attachment), verdict: null };
    case 'decrypted': {
      const content = bufferView(opened.data);
      const filename = decryptedName(attachment.filename, opened.filename);
      const contentType = guessContentType(filename);
      // The same rule as for attachments that came in clear: large plaintext that is not
      // OpenPGP data itself is hashed, not kept.
      const omit =
        content.length > KEEP_SMALL_BYTES &&
        openPgpKindOf({ contentType, filename: filename ?? undefined }, content) === null;
      return {
        attachment: {
          filename,
          contentType,
          size: content.length,
          sha256: createHash('sha256').update(content).digest('hex'),
          content: omit ? Buffer.alloc(0) : content,
          contentOmitted: omit,
          decrypted: true,
        },
        verdict: {
          state: 'decrypted',
          format: 'attachment',
          keyIds: opened.recipientKeyIds,
          teamKeyFingerprint: opened.teamKeyFingerprint,
        },
      };
    }
    default:
      return assertNever(opened);
  }
}

/** `exploit.py.gpg` → `exploit.py`; else the name inside the OpenPGP message; never a path. */
function decryptedName(outer: string | undefined, inner: string | null): string | null {
  const stripped = outer?.replace(/\.(gpg|pgp|asc)$/i, '');
  const name =
    stripped !== undefined && stripped !== '' && stripped !== outer ? stripped : (inner ?? outer ?? '');
  // eslint-disable-next-line no-control-regex -- file names must not carry control characters
  const safe = (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return safe === '' ? null : safe;
}

import { attachmentAsIs, parseNested, type MimeEntity } from '../2-decode/decode.js';
import { toCanonicalCrlf } from '../2-decode/mime-tree.js';
import type { ParsedEntity } from '../2-decode/parse-mime.js';
import type { DecryptFailure, EncryptionVerdict } from '../2-decode/types.js';
import { openMessage } from '../pgp/decrypt-message.js';
import { readDetachedSignature } from '../pgp/verify-signature.js';
import { unwrapContent } from './content.js';
import { bufferView, MAX_PGP_DEPTH, type Body, type Context, type Level } from './context.js';
import { isPgpMimeEncrypted, KEEP_OPENPGP } from './openpgp-parts.js';
import { pickProtected, protectedHeadersOf, signedProtectedHeaders } from './protected-headers.js';
import { claimOf, fixedClaim } from './signatures.js';

/** Dispatches on the entity's structure: PGP/MIME encrypted, PGP/MIME signed, or anything else. */
export async function unwrapEntity(entity: MimeEntity, ctx: Context, level: Level): Promise<Body> {
  const { tree } = entity;
  const protocol = tree.contentType.params.get('protocol')?.toLowerCase();
  if (isPgpMimeEncrypted(tree)) return unwrapPgpMime(entity.mail, ctx, level);
  if (tree.contentType.type === 'multipart/signed' && protocol === 'application/pgp-signature')
    return unwrapSigned(entity, ctx, level);
  return unwrapContent(entity, ctx, level);
}

/**
 * RFC 3156 §4: part 1 is the `Version: 1` control part, part 2 the OpenPGP message. The
 * plaintext is a complete MIME entity; its content replaces the outer content. Signatures
 * inside the encrypted message (§6.2) win over a multipart/signed inside the plaintext (§6.1).
 */
async function unwrapPgpMime(mail: ParsedEntity, ctx: Context, level: Level): Promise<Body> {
  const payload = mail.attachments.find((a) => a.partId === '2');
  const failedWith = (reason: DecryptFailure, keyIds: string[]): Body => ({
    text: mail.text ?? '',
    textFromHtml: false,
    // Keep the ciphertext (staff may decrypt it by hand); drop the "Version: 1" control part.
    attachments: mail.attachments.filter((a) => a.partId !== '1').map(attachmentAsIs),
    encryption: { state: 'failed', format: 'pgp-mime', keyIds, reason },
    signature: null,
    delivery: null,
    protectedHeaders: null,
  });
  if (payload === undefined) {
    ctx.problems.push('multipart/encrypted without its encrypted part');
    return failedWith('corrupt', []);
  }
  if (level.depth >= MAX_PGP_DEPTH) {
    ctx.problems.push('encrypted content nested too deeply; left encrypted');
    return failedWith('unsupported', []);
  }
  const opened = await openMessage(payload.content, ctx.deps.teamKeys, ctx.limits);
  if (opened.kind === 'failed') {
    ctx.problems.push(`the PGP/MIME part could not be decrypted (${opened.reason}: ${opened.detail})`);
    return failedWith(opened.reason, opened.recipientKeyIds);
  }
  if (opened.kind === 'not-encrypted') {
    ctx.problems.push('multipart/encrypted holds an OpenPGP message that is not encrypted');
    return failedWith('unsupported', []);
  }
  const encryption: EncryptionVerdict = {
    state: 'decrypted',
    format: 'pgp-mime',
    keyIds: opened.recipientKeyIds,
    teamKeyFingerprint: opened.teamKeyFingerprint,
  };
  const outerSignature = claimOf(opened.signatures, 'encrypted');
  const plaintext = bufferView(opened.data);
  const inner = looksLikeMimeEntity(plaintext)
    ? await parseNested(plaintext, 'the decrypted content', KEEP_OPENPGP, ctx.problems)
    : null;
  if (inner === null) {
    return {
      text: plaintext.toString('utf8'),
      textFromHtml: false,
      attachments: [],
      encryption,
      signature: outerSignature,
      delivery: null,
      protectedHeaders: null,
    };
  }
  const body = await unwrapEntity(inner, ctx, { depth: level.depth + 1, insideEncrypted: true });
  const nested = body.protectedHeaders;
  return {
    ...body,
    encryption,
    signature: outerSignature ?? body.signature,
    protectedHeaders: pickProtected(
      protectedHeadersOf(inner.mail, { encrypted: true, signed: outerSignature !== null }),
      nested === null
        ? null
        : // The signature inside the encryption covers the whole plaintext (RFC 3156 §6.2).
          { ...nested, encrypted: true, signed: outerSignature !== null || nested.signed },
    ),
  };
}

/** RFC 3156 §4 says the plaintext is a MIME entity; some clients encrypt bare text instead. */
function looksLikeMimeEntity(buf: Buffer): boolean {
  const firstLine = buf.subarray(0, 1000).toString('latin1').split(/\r?\n/, 1)[0] ?? '';
  return firstLine === '' || /^[!-9;-~]+:/.test(firstLine);
}

/**
 * RFC 3156 §5: the signature (part 2) covers part 1 exactly as transmitted, CRLF-canonical, up
 * to but not including the CRLF before the boundary. mailparser gives the decoded content;
 * the signed bytes come from the raw tree.
 */
async function unwrapSigned({ tree, mail }: MimeEntity, ctx: Context, level: Level): Promise<Body> {
  const signaturePart = mail.attachments.find(
    (a) => a.partId === '2' && a.contentType === 'application/pgp-signature',
  );
  const content: ParsedEntity = { ...mail, attachments: mail.attachments.filter((a) => a !== signaturePart) };
  const body = await unwrapContent({ tree, mail: content }, ctx, level);
  const signed = tree.children[0];
  if (signed === undefined || signaturePart === undefined || tree.children.length !== 2) {
    ctx.problems.push('multipart/signed is malformed (it needs exactly the signed part and the signature)');
    return {
      ...body,
      signature: fixedClaim({ state: 'invalid', keyId: null, reason: 'malformed multipart/signed' }),
    };
  }
  const pending = await readDetachedSignature(
    toCanonicalCrlf(signed.raw),
    signaturePart.content.toString('latin1'),
  );
  return {
    ...body,
    signature: 'state' in pending ? fixedClaim(pending) : { format: 'pgp-mime', pending, partial: false },
    protectedHeaders: await signedProtectedHeaders(signed, ctx, level),
  };
}

import { readBodyText, readDelivery, type MimeEntity } from '../2-decode/decode.js';
import { unwrapAttachments } from './attachments.js';
import { NOT_ENCRYPTED, type Body, type Context, type Level } from './context.js';
import { unwrapInline } from './inline.js';

/**
 * An entity that is neither PGP/MIME encrypted nor signed: its text (or text from HTML) with
 * inline PGP unwrapped, its attachments (keys collected, encrypted ones decrypted), DSN fields.
 * Inline encryption wins over that of the attachments for the verdict.
 */
export async function unwrapContent(entity: MimeEntity, ctx: Context, level: Level): Promise<Body> {
  const body = await readBodyText(entity, ctx.problems);
  const inline = await unwrapInline(body.text, ctx, level);
  const { attachments, verdict } = await unwrapAttachments(entity.mail.attachments, ctx, level);
  return {
    text: inline.text,
    textFromHtml: body.textFromHtml,
    attachments,
    encryption: inline.encryption ?? verdict ?? NOT_ENCRYPTED,
    signature: inline.signature,
    delivery: readDelivery(entity),
    protectedHeaders: null,
  };
}

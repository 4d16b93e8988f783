import { parseMessage } from '../2-decode/decode.js';
import { readEnvelope } from '../2-decode/envelope.js';
import type { DecodedMessage } from '../2-decode/types.js';
import { readPublicKeys } from '../pgp/read-keys.js';
import type { Context } from './context.js';
import { unwrapEntity } from './entity.js';
import { collectAutocryptKey } from './keys.js';
import { KEEP_OPENPGP } from './openpgp-parts.js';
import type { DecodeDeps } from './options.js';
import { judge, NO_SIGNATURE } from './signatures.js';

/**
 * Decodes a raw RFC 5322 message and unwraps its OpenPGP layers: MIME and charsets (decode/,
 * mailparser), PGP/MIME and inline PGP decryption with the team keys, signature verdicts, keys
 * the reporter sent, and DSN fields.
 *
 * Steps: 1. parse the MIME, keeping every OpenPGP part whatever its size; 2. read the envelope
 * headers and the Autocrypt key; 3. walk the body (PGP/MIME, multipart/signed, inline blocks,
 * attachments), collecting keys and signatures; 4. check the signatures against the sender's
 * known keys plus every key found in the mail.
 *
 * Bad content never throws: it becomes verdicts and `problems`. Throws
 * `PsirtError('mime_unparseable')` only when mailparser cannot parse the message at all.
 */
export async function decodeMessage(raw: Buffer, deps: DecodeDeps): Promise<DecodedMessage> {
  const entity = await parseMessage(raw, KEEP_OPENPGP);
  const problems: string[] = [];
  const sender = await readPublicKeys(deps.senderKeys);
  if (sender.unreadable.length > 0)
    problems.push(`${sender.unreadable.length} stored sender key(s) could not be read`);
  const ctx: Context = {
    deps,
    limits: { maxDecompressedBytes: deps.maxDecompressedBytes, now: deps.now },
    problems,
    known: sender.keys,
    found: new Map(),
  };
  const envelope = readEnvelope(entity.mail, problems);
  if (envelope.headers.autocrypt !== null)
    await collectAutocryptKey(envelope.headers.autocrypt, envelope.from?.address ?? null, ctx);
  const body = await unwrapEntity(entity, ctx, { depth: 0, insideEncrypted: false });
  const signature = body.signature === null ? NO_SIGNATURE : await judge(body.signature, ctx);
  return {
    ...envelope,
    subject: body.protectedHeaders?.subject ?? envelope.subject,
    outerSubject: envelope.subject,
    protectedHeaders: body.protectedHeaders,
    text: body.text,
    textFromHtml: body.textFromHtml,
    attachments: body.attachments,
    encryption: body.encryption,
    signature,
    keys: [...ctx.found.values()].map((k) => k.info),
    delivery: body.delivery,
    problems,
  };
}

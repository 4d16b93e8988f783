import { assertNever } from '../core/errors.js';
import type { EncryptionVerdict } from '../2-decode/types.js';
import { openMessage } from '../pgp/decrypt-message.js';
import { readCleartext } from '../pgp/verify-signature.js';
import { findArmorBlocks, type ArmorBlock } from './armor-blocks.js';
import { bufferView, MAX_PGP_DEPTH, type Context, type Level, type SignatureClaim } from './context.js';
import { claimOf } from './signatures.js';

/** What inline PGP in a text body unwrapped to. */
export interface InlineResult {
  text: string;
  encryption: EncryptionVerdict | null;
  signature: SignatureClaim | null;
}

/** The state of the walk over the armor blocks of one text. */
interface InlineWalk {
  /** The text with each block replaced by its content. */
  out: string;
  /** The text outside every block. */
  outside: string;
  encryption: EncryptionVerdict | null;
  signature: SignatureClaim | null;
  signedBlocks: number;
  unsignedBlocks: number;
}

/**
 * Inline PGP in a text body: armored messages are decrypted (or unwrapped) in place, clear-signed
 * text is replaced by its content, secret key blocks are cut out. Only the first signature counts
 * for the verdict, and it is `partial` when any other text surrounds the signed block.
 */
export async function unwrapInline(text: string, ctx: Context, level: Level): Promise<InlineResult> {
  const blocks = findArmorBlocks(text);
  if (blocks.length === 0) return { text, encryption: null, signature: null };
  const walk: InlineWalk = {
    out: '',
    outside: '',
    encryption: null,
    signature: null,
    signedBlocks: 0,
    unsignedBlocks: 0,
  };
  let last = 0;
  for (const block of blocks) {
    const before = text.slice(last, block.start);
    walk.out += before;
    walk.outside += before;
    last = block.end;
    await unwrapBlock(block, walk, ctx, level);
  }
  const after = text.slice(last);
  walk.out += after;
  walk.outside += after;
  const unsignedAround = walk.outside.trim() !== '' || walk.signedBlocks + walk.unsignedBlocks > 1;
  const signature =
    walk.signature !== null && unsignedAround ? { ...walk.signature, partial: true } : walk.signature;
  if (walk.encryption?.state === 'decrypted' && walk.outside.trim() !== '')
    ctx.problems.push('text outside the inline PGP block was not encrypted');
  return { text: walk.out, encryption: walk.encryption, signature };
}

async function unwrapBlock(block: ArmorBlock, walk: InlineWalk, ctx: Context, level: Level): Promise<void> {
  switch (block.kind) {
    case 'message':
      return openInlineMessage(block, walk, ctx, level);
    case 'cleartext':
      return readClearSigned(block, walk, ctx);
    case 'secret-key':
      ctx.problems.push('the text held a secret key block, which was removed');
      walk.out += '[secret key material removed]';
      return;
    case 'public-key':
      walk.out += block.armored;
      walk.unsignedBlocks += 1;
      return;
    default:
      assertNever(block.kind);
  }
}

/** An armored OpenPGP message: decrypted (or unwrapped) in place; left as is when it fails. */
async function openInlineMessage(
  block: ArmorBlock,
  walk: InlineWalk,
  ctx: Context,
  level: Level,
): Promise<void> {
  if (level.depth >= MAX_PGP_DEPTH) {
    ctx.problems.push('inline PGP nested too deeply; left as is');
    walk.out += block.armored;
    return;
  }
  const opened = await openMessage(block.armored, ctx.deps.teamKeys, ctx.limits);
  if (opened.kind === 'failed') {
    ctx.problems.push(`an inline PGP message could not be decrypted (${opened.reason}: ${opened.detail})`);
    walk.encryption ??= {
      state: 'failed',
      format: 'inline',
      keyIds: opened.recipientKeyIds,
      reason: opened.reason,
    };
    walk.out += block.armored;
    walk.unsignedBlocks += 1;
    return;
  }
  if (opened.kind === 'decrypted')
    walk.encryption ??= {
      state: 'decrypted',
      format: 'inline',
      keyIds: opened.recipientKeyIds,
      teamKeyFingerprint: opened.teamKeyFingerprint,
    };
  walk.out += bufferView(opened.data).toString('utf8');
  const claim = claimOf(opened.signatures, 'inline');
  if (claim !== null) {
    walk.signedBlocks += 1;
    walk.signature ??= claim;
  } else walk.unsignedBlocks += 1;
}

/** A clear-signed text: replaced by its content; left as is when it cannot be read. */
async function readClearSigned(block: ArmorBlock, walk: InlineWalk, ctx: Context): Promise<void> {
  const read = await readCleartext(block.armored);
  if ('error' in read) {
    ctx.problems.push(`a clear-signed block could not be read (${read.error})`);
    walk.out += block.armored;
    walk.unsignedBlocks += 1;
    return;
  }
  walk.out += read.text;
  walk.signedBlocks += 1;
  walk.signature ??= { format: 'cleartext', pending: read.signatures, partial: false };
}

import { assertNever } from '../core/errors.js';
import type { KeySource } from '../2-decode/types.js';
import { readKeyBlock } from '../pgp/read-keys.js';
import { readAutocryptKey } from './autocrypt.js';
import type { Context } from './context.js';

/** Collects the public keys of a key block into the context; secret or unreadable data is a problem. */
export async function collectKeys(
  data: Uint8Array,
  source: KeySource,
  label: string,
  ctx: Context,
): Promise<void> {
  const block = await readKeyBlock(data);
  switch (block.kind) {
    case 'secret':
      ctx.problems.push(`${label} held secret key material and was dropped`);
      return;
    case 'unreadable':
      ctx.problems.push(`${label} is not a readable OpenPGP public key`);
      return;
    case 'public':
      for (const record of block.keys) {
        if (ctx.found.has(record.fingerprint)) continue;
        ctx.found.set(record.fingerprint, {
          info: {
            fingerprint: record.fingerprint,
            armored: record.armored,
            source,
            addresses: [...record.addresses],
          },
          record,
        });
      }
      return;
    default:
      assertNever(block);
  }
}

/** Collects the key of an Autocrypt header (Autocrypt Level 1 §2.1) when it is for the From address. */
export async function collectAutocryptKey(header: string, from: string | null, ctx: Context): Promise<void> {
  const autocrypt = readAutocryptKey(header, from);
  if (autocrypt.kind === 'key')
    await collectKeys(autocrypt.keydata, 'autocrypt', 'the Autocrypt header', ctx);
  else if (autocrypt.why === 'addr-mismatch')
    ctx.problems.push('the Autocrypt header is for another address than From; its key was ignored');
  else ctx.problems.push('the Autocrypt header is malformed; its key was ignored');
}

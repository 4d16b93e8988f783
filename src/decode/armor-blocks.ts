/** An ASCII-armored OpenPGP block found in a text body (RFC 9580 §6.2). */
export interface ArmorBlock {
  kind: 'message' | 'cleartext' | 'public-key' | 'secret-key';
  /** Offsets into the text: [start, end). */
  start: number;
  end: number;
  /** The block itself, armor lines included, with LF line ends. */
  armored: string;
}

const BLOCK =
  /^-----BEGIN PGP (MESSAGE|SIGNED MESSAGE|PUBLIC KEY BLOCK|PRIVATE KEY BLOCK)-----[ \t]*\r?\n[\s\S]*?^-----END PGP (MESSAGE|SIGNATURE|PUBLIC KEY BLOCK|PRIVATE KEY BLOCK)-----[ \t]*$/gm;

const KINDS: Readonly<Record<string, ArmorBlock['kind']>> = {
  MESSAGE: 'message',
  'SIGNED MESSAGE': 'cleartext',
  'PUBLIC KEY BLOCK': 'public-key',
  'PRIVATE KEY BLOCK': 'secret-key',
};

/** The END line each BEGIN line must close with (a clear-signed text ends with its signature). */
const ENDS: Readonly<Record<string, string>> = {
  MESSAGE: 'MESSAGE',
  'SIGNED MESSAGE': 'SIGNATURE',
  'PUBLIC KEY BLOCK': 'PUBLIC KEY BLOCK',
  'PRIVATE KEY BLOCK': 'PRIVATE KEY BLOCK',
};

/** Every complete armored block in `text`, in order. Blocks must start and end on line starts. */
export function findArmorBlocks(text: string): ArmorBlock[] {
  const out: ArmorBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const begin = m[1] ?? '';
    const kind = KINDS[begin];
    if (kind === undefined || ENDS[begin] !== m[2]) continue;
    out.push({ kind, start: m.index, end: m.index + m[0].length, armored: m[0].replace(/\r\n/g, '\n') });
  }
  return out;
}

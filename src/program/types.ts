import type { Config } from '../config/schema.js';

/**
 * The contract of the program documents (ISO/IEC 18974 §4.2.1–4.2.2, issue #12): what
 * `renderProgram` needs and gives. Everything comes from the configuration the service enforces
 * and facts about the signing team key — nothing else, so the documents cannot drift from what
 * the service does.
 */

/** The verification materials of ISO/IEC 18974 §4.2.1–4.2.2, in the guide's order. */
export const CLAUSES = ['4.2.1.1', '4.2.1.2', '4.2.2.1', '4.2.2.2', '4.2.2.3', '4.2.2.4'] as const;
export type Clause = (typeof CLAUSES)[number];

export interface ProgramInput {
  config: Config;
  /** The signing team key (the first of pgp.keys): uppercase hex fingerprint, expiry if any. */
  teamKey: { fingerprint: string; expires: Date | null };
  /** configDigest(config) (src/config/digest.ts): every file names it. */
  configDigest: string;
  /** When the documents were rendered (or, for an earlier version, when it first ran). */
  generatedAt: Date;
}

export interface ProgramDocument {
  /** File name inside the program folder, e.g. "security.txt", "procedure.md", "book.html". */
  file: string;
  /** The clauses this file is verification material for. */
  clauses: Clause[];
  title: string;
  /** UTF-8 text; security.txt unsigned (the CLI signs it with the team key). */
  content: string;
}

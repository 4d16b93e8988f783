import { describe, expect, it } from 'vitest';
import { safeReason } from '../../../src/pgp/safe-reason.js';

describe('safeReason()', () => {
  it('cuts the quoted armor header line out of openpgp errors', () => {
    expect(safeReason(new Error('Improperly formatted armor header: Comment the password is hunter2'))).toBe(
      'Improperly formatted armor header',
    );
    expect(safeReason(new Error('Unknown header: X-Secret: abc'))).toBe('Unknown header');
  });

  it('replaces quoted input with an ellipsis', () => {
    expect(safeReason(new Error('string contains non-ASCII character "ö" with code 246 at position 3'))).toBe(
      'string contains non-ASCII character "…" with code 246 at position 3',
    );
  });

  it('drops openpgp wrapper prefixes and keeps the cause', () => {
    expect(safeReason(new Error('Error decrypting message: Modification detected.'))).toBe(
      'Modification detected.',
    );
  });

  it('bounds the length', () => {
    expect(safeReason(new Error('x'.repeat(1000))).length).toBe(200);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway private CA (openssl) and a server certificate it signed for 127.0.0.1 (TEST ONLY). */
export interface PrivateCa {
  /** PEM file of the CA certificate: what `imap.tls_ca_file` / `smtp.tls_ca_file` name. */
  caFile: string;
  key: Buffer;
  cert: Buffer;
}

export function makePrivateCa(): PrivateCa {
  const dir = mkdtempSync(join(tmpdir(), 'psirt-ca-'));
  const f = (name: string): string => join(dir, name);
  const openssl = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2'].concat(
      ['-subj', '/CN=psirt-inbox TEST ONLY private CA', '-addext', 'basicConstraints=critical,CA:TRUE'],
      ['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ),
  );
  openssl(['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(
    ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key')].concat([
      '-CAcreateserial',
      '-out',
      f('server.pem'),
      '-days',
      '2',
      '-extfile',
      f('ext.cnf'),
    ]),
  );
  return { caFile: f('ca.pem'), key: readFileSync(f('server.key')), cert: readFileSync(f('server.pem')) };
}

import { connect, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/** A loopback TCP proxy to a real server, whose connections a test can cut (a network failure). */
export interface TcpProxy {
  port: number;
  /** Destroys every open connection through the proxy (both directions). */
  cut(): number;
  close(): Promise<void>;
}

/**
 * With `tls`, the proxy speaks implicit TLS to its clients with that certificate and plain TCP to
 * the server: a real Dovecot or Postfix behind a certificate of a private CA.
 */
export function startTcpProxy(
  host: string,
  targetPort: number,
  tls?: { key: Buffer; cert: Buffer },
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const onClient = (client: Socket): void => {
    const upstream = connect({ host, port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  const server: Server = tls === undefined ? createServer(onClient) : createTlsServer(tls, onClient);
  // A client refusing our certificate ends the handshake: not an error of the proxy.
  server.on('tlsClientError', () => undefined);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        port,
        cut() {
          const n = sockets.size;
          for (const s of sockets) s.destroy();
          return n;
        },
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

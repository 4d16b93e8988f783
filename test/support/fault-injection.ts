// TEST ONLY (#10): fault injection for the e2e tests, loaded with `node --import tsx --import`
// into the service under test (NODE_OPTIONS, see faultInjectionEnv in service.ts). It is not part of the package or the container image, and
// nothing in the configuration or environment of a normal start can load it.
//
// A mail whose header block carries `X-Psirt-Test-Fault: <mode>` makes decoding fail the way a
// hostile mail once did:
//   kill      the process dies at once (SIGKILL: no handler runs, as in an OOM kill);
//   uncaught  a TypeError thrown from a callback outside any promise (as the empty Content-Type
//             bug threw from a stream 'end' handler): only the last-resort handler sees it.
const HOOK = Symbol.for('psirt-inbox.test.before-decode');

(globalThis as Record<symbol, unknown>)[HOOK] = (raw: Buffer): void => {
  const head = raw.subarray(0, 64 * 1024).toString('latin1');
  const end = head.indexOf('\r\n\r\n');
  const block = end === -1 ? head : head.slice(0, end);
  const at = block.toLowerCase().indexOf('\r\nx-psirt-test-fault:');
  if (at === -1) return;
  const value = (block.slice(at + 21).split('\r\n', 1)[0] ?? '').trim().toLowerCase();
  if (value === 'kill') process.kill(process.pid, 'SIGKILL');
  if (value === 'uncaught')
    setImmediate(() => {
      throw new TypeError('injected: a throw from a stream handler, outside any promise');
    });
};

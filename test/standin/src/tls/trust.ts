/**
 * Trusting the stand-in's certificate. A client process started with NODE_EXTRA_CA_CERTS=<certPath>
 * needs nothing else. Inside a process that is already running (a vitest worker, a bridge under test),
 * Node ≥ 22.19 / 24.5 can add it to the default CA list with tls.setDefaultCACertificates(); every
 * later TLS connection that uses the defaults (ws, https, @discordjs/voice) then trusts it.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { UnsupportedError } from '@promethean/shared';

/** Adds the PEM at `certPath` to this process's default trusted CAs (idempotent). */
export function trustCertificateInProcess(certPath: string): void {
  const set = (tls as { setDefaultCACertificates?: typeof tls.setDefaultCACertificates }).setDefaultCACertificates;
  if (typeof set !== 'function') {
    throw new UnsupportedError(`this Node (${process.version}) has no tls.setDefaultCACertificates; start the process with NODE_EXTRA_CA_CERTS=${certPath}`);
  }
  const pem = readFileSync(certPath, 'utf8').trim();
  const current = tls.getCACertificates('default');
  if (current.some((c) => c.trim() === pem)) return;
  set([...current, pem]);
}

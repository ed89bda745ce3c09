/**
 * A self-signed certificate for the voice WebSocket (`wss://` is hard-coded in @discordjs/voice).
 * Made with `openssl req -x509` into a directory; clients trust it through NODE_EXTRA_CA_CERTS, which
 * Node reads only at process start. Several stand-ins (parallel test workers) may start at once, so a
 * new pair is made in a private folder and moved into place with one atomic directory rename.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificatePair {
  /** PEM certificate path (give it to clients as NODE_EXTRA_CA_CERTS). */
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
}

/** Reuses `dir/tls/` when it holds a pair, else generates one (EC P-256, SAN localhost, 127.0.0.1, ::1). */
export async function ensureCertificate(dir: string): Promise<CertificatePair> {
  mkdirSync(dir, { recursive: true });
  const final = join(dir, 'tls');
  const certPath = join(final, 'standin-cert.pem');
  const keyPath = join(final, 'standin-key.pem');
  if (!existsSync(certPath)) {
    const work = mkdtempSync(join(dir, 'tls-new-'));
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(work, 'standin-key.pem'), '-out', join(work, 'standin-cert.pem'), '-days', '825',
      '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-addext', 'basicConstraints=critical,CA:TRUE',
    ], { timeout: 30_000 });
    try {
      renameSync(work, final);
    } catch {
      // Another process won the race; use its pair.
      rmSync(work, { recursive: true, force: true });
    }
  }
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

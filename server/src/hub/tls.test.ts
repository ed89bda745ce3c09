/** The hub on TLS: https/wss for browsers, Secure cookies, and a loopback listener for local agents. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBinary, requires } from '../../../test/support/requires.ts';
import { readRuntimeFile } from './runtime-file.ts';
import { RecordingClient, startTempHub, type TempHub } from './testing.ts';

function httpsRequest(url: string, ca: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca, method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

describe.skipIf(!requires('openssl', hasBinary('openssl', ['version']), 'apt-get install openssl'))('hub over TLS', () => {
  let dir: string;
  let hub: TempHub;
  let cert: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    cert = await readFile(join(dir, 'cert.pem'), 'utf8');
    hub = await startTempHub({ dataDir: join(dir, 'data'), host: '127.0.0.1', tls: { cert, key: await readFile(join(dir, 'key.pem'), 'utf8') }, agentListener: { host: '127.0.0.1', port: 0 } });
  });
  afterAll(async () => {
    await hub?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves https to browsers, with a Secure session cookie', async () => {
    expect(hub.httpUrl).toMatch(/^https:\/\//);
    const health = await httpsRequest(`${hub.httpUrl}/healthz`, cert);
    expect(health.status).toBe(200);
    const login = hub.issueLoginToken({ tenant: 'demo' });
    const res = await httpsRequest(`${hub.httpUrl}/api/session`, cert, { method: 'POST', headers: { authorization: `Bearer ${login.token}` } });
    expect(res.status).toBe(200);
    expect(String(res.headers['set-cookie'])).toContain('Secure');
  });

  it('agents reach it over the loopback listener that the runtime file names', async () => {
    const info = await readRuntimeFile(join(dir, 'data'));
    expect(info.hub_url).toBe(hub.url);
    expect(hub.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/bus$/);
    expect(hub.agentPort).not.toBe(hub.port);
    const agent = new RecordingClient(hub.url, hub.agentKey);
    await agent.opened();
    await agent.subscribe('promethean.p.*.t.demo.>');
    agent.close();
  });
});

/**
 * The voice server's MLS external sender (DAVE op 25): a P-256 signing key whose uncompressed public
 * key (65 bytes) and a basic credential form the `ExternalSender` struct every client installs.
 */
import { p256 } from '@noble/curves/nist.js';
import { getCiphersuiteFromName, getCiphersuiteImpl, type CiphersuiteImpl } from 'ts-mls';
import { encodeExternalSender } from 'ts-mls/externalSender.js';

/** DAVE protocol version 1 uses MLS ciphersuite 2. */
export const DAVE_CIPHERSUITE = 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256' as const;

export interface ExternalSenderOptions {
  /** Identity of the basic credential; libdave's test external sender uses `00 01 01 00`. */
  identity: Uint8Array;
  /** A fixed 32-byte P-256 private key (tests); random when absent. */
  privateKey: Uint8Array | undefined;
}

export const defaultExternalSenderOptions: ExternalSenderOptions = {
  identity: Uint8Array.from([0x00, 0x01, 0x01, 0x00]),
  privateKey: undefined,
};

export interface ExternalSenderKey {
  /** Uncompressed SEC1 public key (65 bytes, starts 0x04). */
  publicKey: Uint8Array;
  /** Raw 32-byte private scalar. */
  signKey: Uint8Array;
  /** The op 25 payload: the encoded `ExternalSender` struct. */
  payload: Buffer;
  /** ts-mls ciphersuite 2 implementation (signature, hash) used to sign and hash proposals. */
  cs: CiphersuiteImpl;
}

let csPromise: Promise<CiphersuiteImpl> | undefined;

/** The ciphersuite-2 implementation, created once per process. */
export function daveCiphersuite(): Promise<CiphersuiteImpl> {
  csPromise ??= getCiphersuiteImpl(getCiphersuiteFromName(DAVE_CIPHERSUITE));
  return csPromise;
}

/** Creates the external sender key and its op 25 payload. */
export async function createExternalSender(options: Partial<ExternalSenderOptions> = {}): Promise<ExternalSenderKey> {
  const opts = { ...defaultExternalSenderOptions, ...options };
  const cs = await daveCiphersuite();
  const signKey = opts.privateKey ?? p256.utils.randomSecretKey();
  const publicKey = p256.getPublicKey(signKey, false);
  const payload = Buffer.from(
    encodeExternalSender({ signaturePublicKey: publicKey, credential: { credentialType: 'basic', identity: opts.identity } }),
  );
  return { publicKey, signKey, payload, cs };
}

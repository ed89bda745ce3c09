/**
 * The MLS structures a DAVE voice server builds or inspects, on top of ts-mls 1.6.4's exported codecs
 * (pinned: these lower-level module paths are not part of its stable API). The server is never a group
 * member: it signs external proposals (RFC 9420 §6.1: external senders sign without group context),
 * computes proposal / key-package references, and reads commits and welcomes without decrypting them.
 */
import type { CiphersuiteImpl, KeyPackage, Proposal, Welcome, GroupContext, Commit } from 'ts-mls';
import { decodeMlsMessage, encodeMlsMessage } from 'ts-mls';
import { makeProposalRef } from 'ts-mls/authenticatedContent.js';
import { decodeKeyPackage, encodeKeyPackage, makeKeyPackageRef, verifyKeyPackage } from 'ts-mls/keyPackage.js';
import { protectExternalProposalPublic } from 'ts-mls/messageProtectionPublic.js';
import { decodeWelcome, encodeWelcome } from 'ts-mls/welcome.js';
import { DaveProtocolError } from './errors.ts';
import type { ExternalSenderKey } from './externalSender.ts';
import { DAVE_CIPHERSUITE } from './externalSender.ts';
import { encodeOpaque, encodeVector, decodeVarint } from './varint.ts';

/** A snowflake as 8 bytes big-endian: DAVE's MLS group id (channel) and credential identity (user). */
export function snowflakeBytes(id: string): Uint8Array {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(id), 0);
  return out;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export interface ParsedKeyPackage {
  keyPackage: KeyPackage;
  /** KeyPackageRef (hash) — matches `new_member` in the Welcome's group secrets. */
  ref: Uint8Array;
  /** The user id its basic credential names. */
  userId: string;
}

/** Decodes and checks an op 26 key package: raw KeyPackage, ciphersuite 2, valid signature. */
export async function parseKeyPackage(bytes: Uint8Array, cs: CiphersuiteImpl): Promise<ParsedKeyPackage> {
  let decoded: [KeyPackage, number] | undefined;
  try {
    decoded = decodeKeyPackage(bytes, 0);
  } catch (cause) {
    throw new DaveProtocolError('key package does not decode', { cause });
  }
  if (decoded === undefined) throw new DaveProtocolError('key package does not decode');
  const [keyPackage, end] = decoded;
  if (end !== bytes.length) throw new DaveProtocolError(`key package has ${bytes.length - end} trailing bytes`);
  if (keyPackage.cipherSuite !== DAVE_CIPHERSUITE) throw new DaveProtocolError(`key package ciphersuite ${keyPackage.cipherSuite}`);
  if (!Buffer.from(encodeKeyPackage(keyPackage)).equals(Buffer.from(bytes)))
    throw new DaveProtocolError('key package does not re-encode to the same bytes');
  if (!(await verifyKeyPackage(keyPackage, cs.signature))) throw new DaveProtocolError('key package signature invalid');
  const cred = keyPackage.leafNode.credential;
  if (cred.credentialType !== 'basic' || cred.identity.length !== 8)
    throw new DaveProtocolError('key package credential is not an 8-byte basic identity');
  const userId = Buffer.from(cred.identity).readBigUInt64BE(0).toString();
  return { keyPackage, ref: await makeKeyPackageRef(keyPackage, cs.hash), userId };
}

export interface SignedProposal {
  /** The encoded MLSMessage (PublicMessage). */
  message: Buffer;
  /** Its ProposalRef, which the commit will cite. */
  ref: Uint8Array;
}

/** Signs one external proposal for the group `groupId` at `epoch` (sender = external index 0). */
export async function signExternalProposal(
  sender: ExternalSenderKey,
  groupId: Uint8Array,
  epoch: bigint,
  proposal: Proposal,
): Promise<SignedProposal> {
  // An external sender's signature covers no group context; only version, group id and epoch are read.
  const context: GroupContext = {
    version: 'mls10',
    cipherSuite: DAVE_CIPHERSUITE,
    groupId,
    epoch,
    treeHash: new Uint8Array(),
    confirmedTranscriptHash: new Uint8Array(),
    extensions: [],
  };
  const { publicMessage } = await protectExternalProposalPublic(
    sender.signKey,
    context,
    new Uint8Array(),
    proposal,
    { senderType: 'external', senderIndex: 0 },
    sender.cs,
  );
  const message = Buffer.from(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage }));
  const ref = await makeProposalRef(
    { wireformat: 'mls_public_message', content: publicMessage.content, auth: publicMessage.auth },
    sender.cs.hash,
  );
  return { message, ref };
}

/** op 27 payload: operation byte then a vector of MLSMessages (append) or of opaque refs (revoke). */
export function encodeProposalsPayload(operation: 0 | 1, items: readonly Uint8Array[]): Buffer {
  const encoded = operation === 0 ? items : items.map((ref) => encodeOpaque(ref));
  return Buffer.concat([Buffer.from([operation]), encodeVector(encoded)]);
}

export interface ParsedCommitWelcome {
  /** Bytes of the commit MLSMessage (what op 29 relays). */
  commitBytes: Buffer;
  groupId: Uint8Array;
  epoch: bigint;
  /** Committer's leaf index (sender type member), or undefined for other sender types. */
  senderLeaf: number | undefined;
  commit: Commit;
  /** The raw Welcome after the commit, when the commit adds members. */
  welcome: Welcome | undefined;
}

/** Splits and decodes an op 28 payload: MLSMessage(commit) then an optional raw Welcome. */
export function parseCommitWelcome(payload: Uint8Array): ParsedCommitWelcome {
  let decoded: ReturnType<typeof decodeMlsMessage>;
  try {
    decoded = decodeMlsMessage(payload, 0);
  } catch (cause) {
    throw new DaveProtocolError('commit does not decode', { cause });
  }
  if (decoded === undefined) throw new DaveProtocolError('commit does not decode');
  const [msg, end] = decoded;
  if (msg.wireformat !== 'mls_public_message') throw new DaveProtocolError(`commit wireformat ${msg.wireformat}`);
  const content = msg.publicMessage.content;
  if (content.contentType !== 'commit') throw new DaveProtocolError(`expected a commit, got ${content.contentType}`);
  let welcome: Welcome | undefined;
  if (end < payload.length) {
    let w: ReturnType<typeof decodeWelcome>;
    try {
      w = decodeWelcome(payload, end);
    } catch (cause) {
      throw new DaveProtocolError('welcome does not decode', { cause });
    }
    if (w === undefined) throw new DaveProtocolError('welcome does not decode');
    if (end + w[1] !== payload.length) throw new DaveProtocolError(`${payload.length - end - w[1]} bytes after the welcome`);
    welcome = w[0];
  }
  return {
    commitBytes: Buffer.from(payload.subarray(0, end)),
    groupId: content.groupId,
    epoch: content.epoch,
    senderLeaf: content.sender.senderType === 'member' ? content.sender.leafIndex : undefined,
    commit: content.commit,
    welcome,
  };
}

/** The Welcome cut down to the one recipient whose KeyPackageRef is `ref`, re-encoded. */
export function welcomeFor(welcome: Welcome, ref: Uint8Array): Buffer | undefined {
  const mine = welcome.secrets.filter((s) => Buffer.from(s.newMember).equals(Buffer.from(ref)));
  if (mine.length === 0) return undefined;
  return Buffer.from(encodeWelcome({ ...welcome, secrets: mine }));
}

/** Number of items in an encoded MLS vector (used by tests to inspect op 27 payloads). */
export function vectorByteLength(buf: Uint8Array, offset: number): number {
  return decodeVarint(buf, offset)[0];
}

/**
 * One client's voice session: what op 0 Identify established (user, ssrc) and what op 1 / op 4
 * negotiated (mode, key, UDP address). It outlives a WebSocket so that op 7 Resume can pick it up.
 */
import { NonceCounter } from '@promethean/shared/providers/discord';
import type { EncryptionMode } from '@promethean/shared/providers/discord';
import type { WebSocket } from 'ws';
import type { VoiceClientHandle } from './extension.ts';

export class VoiceSession implements VoiceClientHandle {
  readonly userId: string;
  readonly sessionId: string;
  readonly token: string;
  readonly ssrc: number;
  readonly maxDaveProtocolVersion: number;
  readonly identify: Record<string, unknown>;
  ready = false;
  mode: EncryptionMode | undefined;
  secretKey: Uint8Array | undefined;
  /** Where this client's UDP datagrams come from (IP discovery, else op 1's address). */
  remote: { address: string; port: number } | undefined;
  /** Transport nonce counter for packets the server sends to this client. */
  readonly nonce = new NonceCounter();
  /** Last seq the server put on a message (JSON `seq` or binary u16). */
  seq = 0;
  /** Last `seq_ack` the client sent in a heartbeat or resume. */
  seqAck = -1;
  lastHeartbeatAt = Date.now();
  ws: WebSocket | undefined;
  /** Sent / received counters for this client. */
  readonly stats = { packetsOut: 0, packetsIn: 0, decryptFailures: 0, jsonIn: 0, jsonOut: 0, binaryIn: 0, binaryOut: 0, resumes: 0 };
  ended = false;

  constructor(fields: { userId: string; sessionId: string; token: string; ssrc: number; identify: Record<string, unknown> }) {
    this.userId = fields.userId;
    this.sessionId = fields.sessionId;
    this.token = fields.token;
    this.ssrc = fields.ssrc;
    this.identify = fields.identify;
    const max = fields.identify.max_dave_protocol_version;
    this.maxDaveProtocolVersion = typeof max === 'number' && Number.isInteger(max) && max >= 0 ? max : 0;
  }

  /** Sends a JSON message with the session's next `seq`. */
  sendJson(op: number, d: unknown): void {
    this.seq++;
    this.#send(JSON.stringify({ op, d, seq: this.seq }));
  }

  /** Sends a JSON message without `seq` (Hello and Heartbeat ACK). */
  sendUnsequenced(op: number, d: unknown): void {
    this.#send(JSON.stringify({ op, d }));
  }

  sendBinary(op: number, payload: Uint8Array): void {
    this.seq = (this.seq + 1) & 0xffff;
    const frame = Buffer.alloc(3 + payload.byteLength);
    frame.writeUInt16BE(this.seq, 0);
    frame[2] = op;
    frame.set(payload, 3);
    if (this.ws?.readyState === 1) {
      this.ws.send(frame);
      this.stats.binaryOut++;
    }
  }

  close(code: number, reason = ''): void {
    const ws = this.ws;
    if (!ws || ws.readyState > 1) return;
    if (code === 1006) ws.terminate();
    else ws.close(code, reason);
  }

  #send(text: string): void {
    if (this.ws?.readyState === 1) {
      this.ws.send(text);
      this.stats.jsonOut++;
    }
  }
}

/** Messages between the ingest controller (`ingest.ts`) and the ingest thread (`ingest-thread.ts`). */

export interface IngestThreadData {
  /** Marks the thread's `workerData` as ours. */
  kind: 'promethean-mediasoup-ingest';
  memory: SharedArrayBuffer;
  listenIp: string;
  port: number;
  recvBufferSize: number;
}

export type IngestRequest =
  /** Opens a loopback socket connected to a router's PlainTransport; routes name it by `routerSlot`. */
  | { op: 'openRouter'; id: number; routerSlot: number; transportPort: number }
  | { op: 'closeRouter'; routerSlot: number };

export type IngestReply =
  | { op: 'ready'; port: number }
  | { op: 'failed'; message: string }
  /** `localPort`: where the router's RTP comes from (the PlainTransport is connected to it). */
  | { op: 'routerOpened'; id: number; localPort: number };

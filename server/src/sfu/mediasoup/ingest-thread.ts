/**
 * The ingest thread: the Sfu's one UDP ingest socket, on its own event loop (never the hub's). Each
 * datagram is classified, counted and, when its ssrc is routed, forwarded unchanged except for the
 * payload type byte to its router's mediasoup PlainTransport, through one connected loopback socket
 * per router (mediasoup demultiplexes a plain transport by ssrc within one router only, and the Sfu's
 * producers are spread over routers in several workers).
 *
 * Per packet this code allocates nothing itself (Node's dgram gives each datagram its own Buffer and
 * send request): the header is read in place, the route comes from shared memory.
 *
 * Run by Node as a worker thread, through type stripping: erasable syntax, `.ts` imports only.
 */
import { createSocket, type Socket } from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { classifyDatagram, RTCP } from './datagram.ts';
import { lookupRoute, T_MALFORMED, T_PACKETS, T_RTCP, T_UNKNOWN_SSRC, T_WRONG_PT, viewIngestMemory } from './ingest-table.ts';
import type { IngestReply, IngestRequest, IngestThreadData } from './ingest-protocol.ts';

function main(port: NonNullable<typeof parentPort>, data: IngestThreadData): void {
  const m = viewIngestMemory(data.memory);
  const route = new Int32Array(3);
  const routers: Array<Socket | undefined> = [];
  const reply = (message: IngestReply): void => port.postMessage(message);

  const ingest = createSocket({ type: data.listenIp.includes(':') ? 'udp6' : 'udp4', recvBufferSize: data.recvBufferSize });
  ingest.on('message', (datagram: Buffer) => {
    const pt = classifyDatagram(datagram);
    if (pt < 0) {
      Atomics.add(m.totals, pt === RTCP ? T_RTCP : T_MALFORMED, 1);
      return;
    }
    const slot = lookupRoute(m, datagram.readUInt32BE(8), route);
    const socket = slot < 0 ? undefined : routers[route[0]!];
    if (socket === undefined) {
      Atomics.add(m.totals, T_UNKNOWN_SSRC, 1);
      return;
    }
    if (route[1]! >= 0 && pt !== route[1]) {
      Atomics.add(m.totals, T_WRONG_PT, 1);
      return;
    }
    datagram[1] = (datagram[1]! & 0x80) | route[2]!;
    Atomics.add(m.packets, slot, 1);
    m.bytes[slot] = m.bytes[slot]! + datagram.length;
    m.lastAt[slot] = Date.now();
    Atomics.add(m.totals, T_PACKETS, 1);
    m.totalBytes[0] = m.totalBytes[0]! + datagram.length;
    socket.send(datagram);
  });

  const onBindError = (error: Error): void => reply({ op: 'failed', message: `the ingest cannot bind ${data.listenIp}:${data.port}: ${error.message}` });
  ingest.once('error', onBindError);
  ingest.bind(data.port, data.listenIp, () => {
    ingest.off('error', onBindError);
    ingest.on('error', () => undefined); // a send or receive error on UDP loses one datagram, nothing more
    reply({ op: 'ready', port: ingest.address().port });
  });

  port.on('message', (request: IngestRequest) => {
    if (request.op === 'openRouter') {
      // Bound to loopback and connected to the router's PlainTransport, which accepts RTP only from it.
      const socket = createSocket('udp4');
      socket.on('error', () => undefined);
      socket.on('message', () => undefined); // mediasoup's RTCP receiver reports: not needed
      socket.bind(0, '127.0.0.1', () => {
        socket.connect(request.transportPort, '127.0.0.1', () => {
          routers[request.routerSlot] = socket;
          reply({ op: 'routerOpened', id: request.id, localPort: socket.address().port });
        });
      });
    } else if (request.op === 'closeRouter') {
      const socket = routers[request.routerSlot];
      routers[request.routerSlot] = undefined;
      socket?.close();
    }
  });
}

const data = workerData as IngestThreadData | undefined;
if (parentPort && data?.kind === 'promethean-mediasoup-ingest') main(parentPort, data);

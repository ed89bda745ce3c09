/**
 * The soak's PCM counter, in its own process so that counting 500 frames a second never competes
 * with the stand-in for the bench process' event loop (a slow subscriber would have the hub drop
 * media, and the count would measure this process instead of the bridge). A raw `ws` client: it reads
 * only each binary frame's JSON header (user, RTP timestamp, concealed), never the PCM.
 * Argument: JSON `{ url, token, pattern }`. Prints `{"ready":true}` once subscribed; on stdin end
 * prints one JSON line `{ published: { [user]: number[] }, concealed }` and exits.
 */
import { WebSocket } from 'ws';

const { url, token, pattern } = JSON.parse(process.argv[2] ?? '{}') as { url: string; token: string; pattern: string };
const published = new Map<string, Set<number>>();
let concealed = 0;
const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', pattern, ref: 'pcm' })));
ws.on('message', (data: Buffer, binary: boolean) => {
  if (!binary) {
    if (data.includes('"ack"')) process.stdout.write('{"ready":true}\n');
    return;
  }
  const len = data.readUInt32BE(0);
  const env = JSON.parse(data.subarray(4, 4 + len).toString('utf8')) as { intent?: string; payload?: { user_id: string; rtp: { timestamp: number; concealed?: string } } };
  if (env.intent !== 'voice.audio.pcm' || !env.payload) return;
  const p = env.payload;
  if (p.rtp.concealed) {
    concealed++;
    return;
  }
  let set = published.get(p.user_id);
  if (!set) published.set(p.user_id, (set = new Set()));
  set.add(p.rtp.timestamp);
});
process.stdin.resume();
process.stdin.on('end', () => {
  const out: Record<string, number[]> = {};
  for (const [user, set] of published) out[user] = [...set];
  process.stdout.write(`${JSON.stringify({ published: out, concealed })}\n`, () => process.exit(0));
});

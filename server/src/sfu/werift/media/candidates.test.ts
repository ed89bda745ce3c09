import { describe, expect, it } from 'vitest';
import { announceCandidates } from './candidates.ts';

const sdp = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=candidate:1 1 udp 2116026367 127.0.0.1 40000 typ host generation 0 ufrag x',
  'a=candidate:2 1 udp 2116026367 10.0.0.5 40001 typ host generation 0 ufrag x',
  'a=candidate:3 1 udp 2116026367 10.0.0.6 40001 typ host generation 0 ufrag x',
  'a=candidate:4 1 tcp 1772093439 10.0.0.5 40000 typ host tcptype passive generation 0 ufrag x',
  'a=candidate:5 1 udp 1694498815 198.51.100.1 5000 typ srflx raddr 10.0.0.5 rport 40001',
  'a=end-of-candidates',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=candidate:2 1 udp 2116026367 10.0.0.5 40001 typ host generation 0 ufrag x',
  '',
].join('\r\n');

describe('announceCandidates', () => {
  it('leaves the SDP untouched without an announced address', () => {
    expect(announceCandidates(sdp, undefined)).toBe(sdp);
  });

  it('puts the announced address in non-loopback host candidates, drops the duplicates, keeps the rest byte for byte', () => {
    const out = announceCandidates(sdp, '203.0.113.7');
    expect(out.split('\r\n')).toEqual([
      'v=0',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=candidate:1 1 udp 2116026367 127.0.0.1 40000 typ host generation 0 ufrag x',
      'a=candidate:2 1 udp 2116026367 203.0.113.7 40001 typ host generation 0 ufrag x',
      'a=candidate:4 1 tcp 1772093439 203.0.113.7 40000 typ host tcptype passive generation 0 ufrag x',
      'a=candidate:5 1 udp 1694498815 198.51.100.1 5000 typ srflx raddr 10.0.0.5 rport 40001',
      'a=end-of-candidates',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=candidate:2 1 udp 2116026367 203.0.113.7 40001 typ host generation 0 ufrag x',
      '',
    ]);
  });
});

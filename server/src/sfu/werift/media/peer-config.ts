/**
 * The werift peer connection configuration of a listener, derived from {@link SfuOptions}.
 *
 * How werift gathers (0.25.2): it enumerates the host's addresses (`iceUseIpv4` / `iceUseIpv6`),
 * keeps only `iceInterfaceAddresses` among them when one matches, adds `iceAdditionalHostAddresses`,
 * and opens one UDP socket per address, bound to `iceInterfaceAddresses.udp4` when set (else to
 * every interface). Passive ICE-TCP listens on each gathered address itself. So a specific
 * `listenIp` is gathered alone (host enumeration off, it is the only additional address, every
 * socket bound to it); a wildcard gathers every host address plus the additional ones.
 */
import { isIP } from 'node:net';
import { RTCRtpCodecParameters, type RTCPeerConnectionConfig } from 'werift';
import { isWildcardAddress, type SfuOptions } from '../../options.ts';

/** Opus as browsers offer it; payload type 111 like Chromium. Packets are forwarded untouched. */
export function opusCodec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: 'audio/opus',
    clockRate: 48_000,
    channels: 2,
    payloadType: 111,
    parameters: 'minptime=10;useinbandfec=1',
    rtcpFeedback: [],
  });
}

export function listenerPeerConfig(options: SfuOptions): RTCPeerConnectionConfig {
  const { listenIp } = options;
  const wildcard = isWildcardAddress(listenIp);
  const family = isIP(listenIp);
  const config: RTCPeerConnectionConfig = {
    codecs: { audio: [opusCodec()], video: [] },
    headerExtensions: { audio: [], video: [] },
    bundlePolicy: 'max-bundle',
    iceUseTcp: options.iceTcp,
    iceUseIpv4: wildcard,
    iceUseIpv6: wildcard && listenIp === '::',
    iceAdditionalHostAddresses: wildcard ? [...options.iceAdditionalHostAddresses] : [listenIp],
    iceServers: [],
  };
  if (!wildcard) config.iceInterfaceAddresses = family === 6 ? { udp6: listenIp } : { udp4: listenIp };
  if (options.rtcMinPort !== undefined && options.rtcMaxPort !== undefined) {
    config.icePortRange = [options.rtcMinPort, options.rtcMaxPort];
  }
  return config;
}

/** @promethean/standin — the protocol-accurate local Discord with simulated speakers. */
export { startStandin, assertOpen } from './standin.ts';
export type { Standin } from './standin.ts';
export { defaultStandinOptions } from './options.ts';
export type { StandinOptions } from './options.ts';
export type { SpeakerSpec, SpeakerInfo } from './speakers/manager.ts';
export type { SendLogEntry } from './speakers/sendlog.ts';
export type { ImpairmentOptions } from './speakers/impairment.ts';
export type { MalformedKind, MalformedOptions } from './faults/faults.ts';
export type { VoiceServerExtension, VoiceClientHandle, SpeakerHandle, VoiceServerView } from './voice/extension.ts';
export { readWavFile, parseWav, encodeWavS16, writeWavS16 } from './audio/wav.ts';
export type { PcmAudio } from './audio/wav.ts';
export { toStereo48k, resampleLinear } from './audio/resample.ts';
export { StandinConfigError, WavFormatError } from './util/errors.ts';
export { trustCertificateInProcess } from './tls/trust.ts';
export { runStandinCommand, fixtureSpeakers, parseStandinFlags, STANDIN_USAGE } from './cli.ts';
export { alignedNcc, nccAtLag, monoFromS16Stereo } from './testing/ncc.ts';
export { createDaveExtension } from './dave/index.ts';

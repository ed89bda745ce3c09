/**
 * The DSP core: pure kernels over typed arrays and processors with `processInput()`, browser-safe
 * (no Node imports). See docs/dsp.md.
 */
export { DspOptionsError } from './errors.ts';
export { ComplexFft, RealFft } from './fft.ts';
export { analysisWindow, WINDOW_KINDS, type WindowKind } from './window.ts';
export { applyMel, defaultMelFilterbankOptions, hzToMel, melFilterbank, melFrequencies, melToHz, type MelFilterbank, type MelFilterbankOptions, type MelNorm } from './mel.ts';
export { defaultStftOptions, resolveStftOptions, spectrogram, SpectrumFrame, stftFrameCount, type PadMode, type ResolvedStftOptions, type Spectrogram, type StftOptions } from './stft.ts';
export {
  defaultMelSpectrogramOptions,
  MelProcessor,
  melRows,
  melSpectrogram,
  WHISPER_SAMPLE_RATE,
  whisperLogMel,
  whisperMelOptions,
  type DspProgress,
  type MelFrames,
  type MelSpectrogram,
  type MelSpectrogramOptions,
} from './melspec.ts';
export { defaultResamplerOptions, resample, Resampler, type ResamplerOptions } from './resample.ts';
export { dbfs, defaultNoiseFloorOptions, NoiseFloor, rms, s16ToFloat, snrDb, type NoiseFloorOptions } from './energy.ts';
export { checkVadSettings, defaultVadSettings, STEADY_TONE_FRAMES, STEADY_TONE_HZ, VadSegmenter, type VadEvent, type VadSegment, type VadSettings } from './vad.ts';
export { SILERO_CONTEXT_SAMPLES, SILERO_FRAME_SAMPLES, SILERO_SAMPLE_RATE, SILERO_STATE_SIZE, SileroFramer, type SileroFrame } from './silero.ts';
export { decodeWav, WavError, type WavAudio, type WavErrorReason, type WavInfo, type WavSampleFormat } from './wav.ts';
export { TonalityMeter } from './tonality.ts';

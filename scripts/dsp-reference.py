#!/usr/bin/env python3
"""Reference values for the DSP kernels' accuracy tests, made by librosa itself.

Writes test/fixtures/dsp/gen/*.json and the input WAVs they were computed from. Run it in a throwaway
virtual environment (nothing here is a runtime dependency of the project):

    python3 -m venv /tmp/dspref && /tmp/dspref/bin/pip install librosa==0.11.0 soundfile
    /tmp/dspref/bin/python scripts/dsp-reference.py

Each JSON holds the exact call (`call`), the librosa version, and the CLI's shape:
{ sample_rate, n_mels, n_frames, data: [[... n_frames] x n_mels] }.
It also writes small WAVs in every PCM layout the CLI reads (by soundfile, an independent writer),
with the float samples they hold, for the WAV reader's test.
"""
import json
import os
import sys

import librosa
import numpy as np
import soundfile as sf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'dsp', 'gen')


def signal(sr: int, seconds: float, seed: int) -> np.ndarray:
    """Two tones, a chirp and light noise, peak well under full scale (float32, like a decoded WAV)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 3000 * t) * (t > seconds / 3)
    y += 0.1 * np.sin(2 * np.pi * (200 + 2000 * t) * t) + 0.01 * rng.standard_normal(t.size)
    return y.astype(np.float32)


def write_case(name: str, sr: int, y: np.ndarray, **kw) -> None:
    wav = f'{name}_input.wav'
    sf.write(os.path.join(OUT, wav), y, sr, subtype='FLOAT')
    S = librosa.feature.melspectrogram(y=y.astype(np.float64), sr=sr, **kw)
    args = ', '.join(f'{k}={v!r}' for k, v in kw.items())
    doc = {
        'generator': f'librosa {librosa.__version__} feature.melspectrogram',
        'call': f'librosa.feature.melspectrogram(y=<{wav} as float64>, sr={sr}, {args})',
        'input': wav,
        'sample_rate': sr,
        'n_mels': int(S.shape[0]),
        'n_frames': int(S.shape[1]),
        # float32 keeps the files small; the tests allow 1e-4 of the largest value.
        'data': [[float(np.float32(v)) for v in row] for row in S],
    }
    with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    print(f'{name}: {S.shape[0]} x {S.shape[1]}', file=sys.stderr)


def write_wav_layouts() -> None:
    sr = 11025
    t = np.arange(int(sr * 0.05)) / sr
    left = (0.5 * np.sin(2 * np.pi * 500 * t)).astype(np.float32)
    right = (0.25 * np.sin(2 * np.pi * 1500 * t)).astype(np.float32)
    stereo = np.stack([left, right], axis=1)
    cases = {
        'wav_s16.wav': ('WAV', 'PCM_16', left),
        'wav_s24.wav': ('WAV', 'PCM_24', left),
        'wav_s32.wav': ('WAV', 'PCM_32', left),
        'wav_f32.wav': ('WAV', 'FLOAT', left),
        'wav_s16_stereo.wav': ('WAV', 'PCM_16', stereo),
        'wav_ext_s24_stereo.wav': ('WAVEX', 'PCM_24', stereo),
        'wav_ext_f32.wav': ('WAVEX', 'FLOAT', left),
        'wav_u8.wav': ('WAV', 'PCM_U8', left),
    }
    expected = {}
    for name, (fmt, subtype, data) in cases.items():
        path = os.path.join(OUT, name)
        sf.write(path, data, sr, format=fmt, subtype=subtype)
        # What a reader should decode: soundfile's own float reading of the file, channels averaged.
        back, _ = sf.read(path, dtype='float64', always_2d=True)
        expected[name] = {'sample_rate': sr, 'channels': int(back.shape[1]), 'subtype': subtype, 'format': fmt,
                          'mono': [float(v) for v in back.mean(axis=1)]}
    with open(os.path.join(OUT, 'wav_layouts.json'), 'w') as f:
        json.dump({'generator': f'soundfile {sf.__version__} (libsndfile {sf.__libsndfile_version__})', 'files': expected}, f, separators=(',', ':'))


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    y22 = signal(22050, 0.75, 1)
    # librosa's own defaults: n_fft 2048, hop 512, 128 Slaney mels, center, pad constant, power 2.
    write_case('librosa_defaults_22050', 22050, y22)
    write_case('no_center_22050', 22050, y22, n_fft=1024, hop_length=256, center=False, n_mels=64)
    y44 = signal(44100, 0.4, 2)
    write_case('win_1024_of_2048_44100', 44100, y44, n_fft=2048, hop_length=441, win_length=1024, n_mels=96, fmax=16000.0)
    y8 = signal(8000, 1.0, 3)
    write_case('htk_power1_reflect_8000', 8000, y8, n_fft=256, hop_length=80, win_length=200, n_mels=40, htk=True, norm=None,
               power=1.0, pad_mode='reflect', fmin=50.0)
    y48 = signal(48000, 0.3, 4)
    write_case('odd_nfft_48000', 48000, y48, n_fft=1200, hop_length=480, n_mels=80, fmin=30.0, power=1.5)
    write_wav_layouts()


if __name__ == '__main__':
    main()

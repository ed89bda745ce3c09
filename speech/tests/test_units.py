"""Unit tests of the speech server's pure parts; run with the speech environment's Python:
  PYTHONPATH=speech ~/.cache/promethean/speech-venv/bin/python -m unittest discover -s speech/tests -t speech
"""
import hashlib
import json
import tempfile
import unittest
from pathlib import Path

import numpy as np

from promethean_speech.audio import decode_upload, resample_s16, wav_bytes
from promethean_speech.engines.llm_llamacpp import gemma_prompt
from promethean_speech.errors import ApiError, Counters
from promethean_speech.manifest import ModelFile, load_manifest, verify_file

ROOT = Path(__file__).resolve().parents[2]


class ManifestTest(unittest.TestCase):
    def test_every_speech_entry_is_assembled_from_package_files(self):
        entries = {e.name: e for e in load_manifest(ROOT / "models" / "manifest.json")}
        for name in ("whisper-tiny.en", "whisper-base", "piper-en_US-joe-medium", "gemma-3-270m-q4_k_m"):
            self.assertTrue(entries[name].installable, name)
            self.assertEqual(entries[name].size_bytes, sum(f.bytes for f in entries[name].files))
        self.assertEqual(len(entries["gemma-3-270m-q4_k_m"].files[0].sources), 4)

    def test_verify_file_names_what_differs(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "m.bin"
            p.write_bytes(b"weights")
            good = ModelFile("m.bin", 7, hashlib.sha256(b"weights").hexdigest(), ())
            self.assertIsNone(verify_file(p, good))
            self.assertIn("bytes", verify_file(p, ModelFile("m.bin", 8, good.sha256, ())))
            self.assertIn("sha256", verify_file(p, ModelFile("m.bin", 7, "0" * 64, ())))
            self.assertEqual(verify_file(Path(d) / "absent", good), "missing")


class ErrorsTest(unittest.TestCase):
    def test_api_error_has_the_openai_shape(self):
        e = ApiError(400, "invalid_value", "temperature must be a number", "temperature")
        self.assertEqual(e.body(), {"error": {"message": "temperature must be a number", "type": "invalid_request_error", "param": "temperature", "code": "invalid_value"}})
        self.assertEqual(ApiError(503, "model_unavailable", "x").type, "server_error")

    def test_counters_count(self):
        c = Counters()
        c.inc("a")
        c.inc("a", 2)
        self.assertEqual(c.snapshot(), {"a": 3})


class AudioTest(unittest.TestCase):
    def test_wav_round_trip_through_ffmpeg_resamples_to_16k(self):
        t = np.arange(22050) / 22050
        pcm = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16)
        audio = decode_upload(wav_bytes(pcm, 22050))
        self.assertAlmostEqual(len(audio) / 16000, 1.0, delta=0.01)
        self.assertAlmostEqual(float(np.max(np.abs(audio))), 10000 / 32768, delta=0.02)

    def test_not_audio_is_a_400(self):
        with self.assertRaises(ApiError) as cm:
            decode_upload(b"definitely not audio")
        self.assertEqual(cm.exception.status, 400)
        with self.assertRaises(ApiError) as cm:
            decode_upload(b"")
        self.assertEqual(cm.exception.code, "empty_file")

    def test_resample_keeps_duration(self):
        out = resample_s16(np.zeros(22050, dtype=np.int16), 22050, 24000)
        self.assertAlmostEqual(len(out), 24000, delta=64)


class PromptTest(unittest.TestCase):
    def test_gemma_turns_with_the_system_text_in_the_first_user_turn(self):
        p = gemma_prompt([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}])
        self.assertEqual(p, "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n")


if __name__ == "__main__":
    unittest.main()

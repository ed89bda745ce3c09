"""Engines behind one protocol class per kind (stt, tts, llm); each loads its model on first use."""

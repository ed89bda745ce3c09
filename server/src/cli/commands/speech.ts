/**
 * `promethean speech serve`: the project's own local speech server, speaking the OpenAI-compatible
 * API (`/v1/audio/transcriptions`, `/v1/audio/speech`, `/v1/chat/completions`, `/v1/models`). It is a
 * Python program (speech/promethean_speech) in the environment scripts/install-speech.sh builds; this
 * command runs it, relays its output and passes Ctrl-C on.
 */
import { spawn } from 'node:child_process';
import { PrometheanError } from '@promethean/shared';
import { PROJECT_ROOT } from '../../app.ts';
import { defaultLocalSpeechServerOptions, speechServerCommand } from '../../speech/local-server.ts';
import { numberFlag, parseFlags, type Command } from '../args.ts';

const USAGE = `Usage: promethean speech serve [options]

Runs the local speech server (STT: Whisper on faster-whisper; TTS: Piper, espeak-ng; LLM: Gemma 3 270M
on llama.cpp) on the OpenAI-compatible HTTP API. Install it first: bash scripts/install-speech.sh

Options:
  --host HOST         listen address (default 127.0.0.1)
  --port N            port, 0 = any free port (default 8791)
  --threads N         CPU threads per engine (default 1)
  --stt-model ID      default STT model (whisper-tiny.en | whisper-base)
  --tts-model ID      default TTS model (piper-en_US-joe-medium:openvino, the default | piper-en_US-joe-medium | espeak-ng)
  --llm-model ID      default LLM (gemma-3-270m-q4_k_m)
  --preload           load the default models before reporting ready
  --venv DIR          the speech environment (default ${defaultLocalSpeechServerOptions.venv})
  --models-dir DIR    the model folder (default ${defaultLocalSpeechServerOptions.modelsDir})

It prints {"type":"ready","url":…} on stdout once it listens.`;

export const speechCommand: Command = {
  name: 'speech',
  summary: 'run the local OpenAI-compatible speech server (STT, TTS, LLM)',
  usage: USAGE,
  run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'serve') throw new PrometheanError('bad_flag', sub === undefined ? 'missing subcommand (serve)' : `unknown subcommand "${sub}" (serve)`);
    const { values } = parseFlags(rest, {
      host: { type: 'string' },
      port: { type: 'string' },
      threads: { type: 'string' },
      'stt-model': { type: 'string' },
      'tts-model': { type: 'string' },
      'llm-model': { type: 'string' },
      preload: { type: 'boolean' },
      venv: { type: 'string' },
      'models-dir': { type: 'string' },
    });
    const port = numberFlag('port', values.port, 0, 65535) ?? 8791;
    const threads = numberFlag('threads', values.threads, 1, 64) ?? 1;
    if (!Number.isInteger(port) || !Number.isInteger(threads)) throw new PrometheanError('bad_flag', '--port and --threads must be whole numbers');
    const models = (['stt', 'tts', 'llm'] as const).flatMap((k) => (values[`${k}-model`] ? [`--${k}-model`, values[`${k}-model`]!] : []));
    const { command, args, env } = speechServerCommand({
      ...defaultLocalSpeechServerOptions,
      projectRoot: PROJECT_ROOT,
      host: values.host ?? '127.0.0.1',
      port,
      threads,
      preload: values.preload ?? false,
      args: models,
      ...(values.venv ? { venv: values.venv } : {}),
      ...(values['models-dir'] ? { modelsDir: values['models-dir'] } : {}),
    });
    return new Promise<number>((resolve) => {
      const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
      const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
      const onInt = forward('SIGINT');
      const onTerm = forward('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      child.on('error', (e) => {
        console.error(`promethean speech: ${e.message}`);
        resolve(1);
      });
      child.on('close', (code, signal) => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        resolve(code ?? (signal ? 1 : 0));
      });
    });
  },
};

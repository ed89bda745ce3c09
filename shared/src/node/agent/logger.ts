/**
 * Structured JSON logs (pino). Every line an agent writes about a message carries `corr`, `trace`,
 * `intent`, `latency_ms` and `outcome`; secrets are redacted by key name wherever they appear.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** Agent id, put on every line as `agent`. */
  agent: string;
  /** pino level (`info` default; `silent` in tests). */
  level: string;
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
}

/** Key names whose values never reach a log line. */
export const REDACTED_KEYS = ['token', 'secret', 'secret_key', 'password', 'authorization', 'auth.token'];

export function createLogger(options: LoggerOptions): Logger {
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
  return pino(
    {
      level: options.level,
      base: { agent: options.agent },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

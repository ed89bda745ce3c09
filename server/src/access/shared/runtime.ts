/** The agent runtime every access agent runs in, built the same way from its start options. */
import { AgentRuntime, type AgentBus, type Logger } from '@promethean/shared/node';

/** The start options every access agent shares (the rest are its own). */
export interface AccessRuntimeOptions {
  bus: AgentBus;
  /** Its bus key's agent id; `defaultId` when absent. */
  agentId?: string;
  tenant: string;
  /** pino level (default `warn`). */
  logLevel?: string;
  /** A logger to use instead of one on stdout (tests read what was logged). */
  logger?: Logger;
  buildSha?: string;
  /** Seconds between health envelopes (default 5). */
  healthIntervalS?: number;
}

/** An access agent's runtime (kind `access`) for one (provider, tenant); not started. */
export function accessRuntime(defaultId: string, provider: string, o: AccessRuntimeOptions): AgentRuntime {
  return new AgentRuntime({
    id: o.agentId ?? defaultId,
    kind: 'access',
    bus: o.bus,
    provider,
    tenant: o.tenant,
    logLevel: o.logLevel ?? 'warn',
    ...(o.logger ? { logger: o.logger } : {}),
    buildSha: o.buildSha ?? 'dev',
    healthIntervalS: o.healthIntervalS ?? 5,
  });
}

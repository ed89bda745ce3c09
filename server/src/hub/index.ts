/** The embedded bus hub. */
export { createHub, type Hub } from './hub.ts';
export { defaultHubOptions, isMediaIntent, type HubOptions, type HubEnv, type HubMountContext } from './options.ts';
export type { HubMetrics, ConnectionMetrics } from './metrics.ts';
export { CLOSE_SLOW_CONSUMER } from './connection.ts';
export { loadOrCreateAgentKey, type Principal, type Role, type SessionScope, type IssuedToken } from './auth.ts';
export { readRuntimeFile, writeRuntimeFile, removeRuntimeFile, runtimeFilePath, parseRuntimeInfo, type RuntimeInfo } from './runtime-file.ts';
export { issueAgentKey, revokeAgentKey, loadAgentKeys, agentKeyPath, keysDir, type AgentKeyEntry } from './agent-keys.ts';

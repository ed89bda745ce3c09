/** The console's bot controls: the audit of kill switch and "say this", the brain switchboard and its routes, and the workers' view of the switches. */
export { actorOf, auditBotAction, botActionOf, type BotAuditLog } from './audit.ts';
export { BrainSwitchboard, defaultBrainSwitchboardOptions, QUERY_TOPIC, type BrainBus, type BrainChange, type BrainStore, type BrainSwitchboardOptions } from './brains.ts';
export { mountBotRoutes } from './routes.ts';
export { BrainToggles, defaultBrainTogglesOptions, type BrainTogglesOptions, type TogglesRuntime } from './toggles.ts';

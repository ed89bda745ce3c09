/** Storage: the Store interface, its two drivers and the factory that picks one from config. */
export * from './store.ts';
export * from './errors.ts';
export { createStore, parseStoreConfig, storeConfigFromEnv, StoreConfigSchema } from './config.ts';
export type { StoreConfig, StoreConfigInput } from './config.ts';
export { openPgliteStore, DEFAULT_PGLITE_DATA_DIR, PGLITE_MEMORY } from './pglite.ts';
export type { PgliteStoreOptions } from './pglite.ts';
export { openPostgresStore } from './postgres.ts';
export type { PostgresStoreOptions } from './postgres.ts';
export { SqlStore } from './sqlStore.ts';
export { AUDIT_CHAIN_FORMAT, AUDIT_KEY_BYTES, GENESIS_HASH, auditCanonical, auditHash, canonicalJson, sameHash } from './audit-chain.ts';
export type { AuditChainFields } from './audit-chain.ts';

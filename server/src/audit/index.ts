/** The tamper-evident audit log: chain key, head file, start-up, verification and export. */
export { auditKeyPath, loadOrCreateAuditKey, readAuditKey } from './key.ts';
export type { AuditKey } from './key.ts';
export { AuditHeadFile, auditHeadPath, parseAuditHead } from './head.ts';
export { headMismatch, openAuditChain, startAuditLog } from './chain.ts';
export type { AuditChainStart, AuditChainStartOptions } from './chain.ts';
export { describeVerifyResult, verifyAuditChain } from './verify.ts';
export type { AuditProblem, AuditProblemKind, AuditVerifyOptions, AuditVerifyResult } from './verify.ts';
export { exportAudit, exportLine } from './export.ts';
export type { AuditExportOptions, AuditExportResult } from './export.ts';
export { openAuditStore, refuseWhileServerRuns } from './open.ts';
export type { AuditStoreLocation } from './open.ts';

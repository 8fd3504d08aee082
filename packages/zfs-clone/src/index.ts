/**
 * ZFS-clone build caches on Kubernetes: per-job copy-on-write clones of a cache snapshot, snapshot
 * back, race-free promotion of a cache head, retention. The hook uses `createCacheSession`; the
 * operator CLI and scripts use the operations.
 */
export { ZfsCloneError, type ZfsCloneErrorCode } from './errors.js';

// Configuration
export {
  resolveCloneConfig,
  resolveCloneConfigOrThrow,
  type CloneConfig,
  type ResolveResult,
  type ResolveContext,
} from './config/resolve.js';
export { parseSource, formatSource, type CloneSource } from './config/source.js';
export { workflowSettingsSchema, type SnapshotBackPolicy } from './config/workflow-settings.js';
export { runnerSettingsSchema } from './config/runner-settings.js';
export { renderConfigurationReference } from './config/reference.js';

// Hook facade
export { createCacheSession, type CacheSession, type CacheSessionOptions } from './session/cache-session.js';
export { CLONE_VOLUME_NAME, explainNodeConflict, type PreparedClone } from './session/prepare.js';
export type { CleanupInput, CleanupReport } from './session/cleanup.js';
export { cloneStateSchema, type CloneState } from './session/state.js';
export { silentLogger, type CacheLogger } from './session/logger.js';

// Lineage model and planner (pure)
export type { LineageGraph, VolumeNode, SnapshotNode, CacheHead, HeadEntry } from './lineage/graph.js';
export { planGc, HANDOVER_GRACE_SECONDS, type GcPlan, type GcPolicy, type PlannedNode } from './lineage/plan-gc.js';
export { graphFromObjects } from './lineage/from-objects.js';
export { parseHead, buildHeadConfigMap, advanceHead } from './lineage/head.js';

// Builders (pure)
export { buildClonePvc, type ClonePvcSpec } from './build/clone-pvc.js';
export { buildSnapshot, type SnapshotSpec } from './build/snapshot.js';
export { snapshotOwner } from './build/owner.js';

// Operations (take a KubeClient)
export { resolveSource, type ResolvedSource } from './ops/resolve-source.js';
export { createClone, reownClone } from './ops/create-clone.js';
export { waitForClone, watchCloneEvents, type CloneReadiness } from './ops/wait-for-clone.js';
export { snapshotBack, type SnapshotBackResult } from './ops/snapshot-back.js';
export { flushClone, flushCommand, isUnknownOptionError, type CommandResult, type FlushResult, type RunInJob, type RunInJobOptions } from './ops/flush.js';
export { promote, readHead, type PromoteResult } from './ops/promote.js';
export { rollback } from './ops/rollback.js';
export { seed } from './ops/seed.js';
export { gc, type GcResult } from './ops/gc.js';
export { readLineage } from './ops/read-lineage.js';
export { detectCapabilities, type Capabilities } from './ops/capabilities.js';
export { keepClone, releaseClone } from './ops/release.js';
export { buildCacheEvent, recordCacheEvent, readCacheEvents, EVENT_COMPONENT, type CacheEvent, type CacheEventLine, type EventObject } from './ops/events.js';
export type { VolumeSnapshot } from './kube-types.js';

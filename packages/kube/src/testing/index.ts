/**
 * Test doubles of this package (`@zfs-runner-hooks/kube/testing`): an in-memory `KubeClient` for
 * unit tests. Never imported by production code.
 */
export { FakeKubeClient } from './fake-client.js';
export type { FakeCall, FakeObject, FakeVerb, FaultOptions, Reactor } from './fake-types.js';
export { apiError, type ApiFault } from './faults.js';
export type { ExecMatch, ExecOutcome, ExecReply, LogMatch, LogOutcome, LogReply } from './exec-script.js';
export { matchesFields, matchesLabels, mergePatch } from './selectors.js';

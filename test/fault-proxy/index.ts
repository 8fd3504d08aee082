/** The fault-injecting proxy for tests against a Kubernetes API server (see README.md). */
export { startFaultProxy, type FaultProxy, type FaultProxyOptions } from './proxy.js';
export { proxyKubeConfig } from './kubeconfig.js';
export { parseFaultScript, parseFaultRule, describeRule, describeFault, FaultScriptError } from './fault-script.js';
export type { Fault, FaultRule, RequestMatch, StreamThreshold } from './faults.js';
export type { ActiveFault } from './rule-set.js';
export { classifyRequest, VERBS, type RequestInfo, type Verb, type StreamKind } from './request-info.js';
export { requestTypes, countByType, committedCreates, formatRecord, type RecordedRequest, type Outcome } from './request-log.js';
export { issueServingCertificate, createCertificateAuthority, type CaFiles, type IssuedCertificate } from './certificates.js';

import { describe, expect, it } from 'vitest';
import { encodeQuery, rbacVerb, resourceName, resourcePath } from './paths.js';
import { R } from './resources.js';

describe('resourcePath', () => {
  it.each([
    [{ type: R.pods, namespace: 'ci' }, '/api/v1/namespaces/ci/pods'],
    [{ type: R.pods, namespace: 'ci', name: 'job-1' }, '/api/v1/namespaces/ci/pods/job-1'],
    [{ type: R.pods, namespace: 'ci', name: 'job-1', subresource: 'exec' }, '/api/v1/namespaces/ci/pods/job-1/exec'],
    [{ type: R.pods }, '/api/v1/pods'],
    [{ type: R.nodes, name: '127.0.0.1' }, '/api/v1/nodes/127.0.0.1'],
    [{ type: R.namespaces, name: 'ci' }, '/api/v1/namespaces/ci'],
    [{ type: R.volumeSnapshots, namespace: 'ci', name: 'gcc12-main' }, '/apis/snapshot.storage.k8s.io/v1/namespaces/ci/volumesnapshots/gcc12-main'],
    [{ type: R.storageClasses, name: 'zfs' }, '/apis/storage.k8s.io/v1/storageclasses/zfs'],
    [{ type: R.roles, namespace: 'ci' }, '/apis/rbac.authorization.k8s.io/v1/namespaces/ci/roles'],
    [{ type: R.serviceAccounts, namespace: 'ci', name: 'runner', subresource: 'token' }, '/api/v1/namespaces/ci/serviceaccounts/runner/token'],
  ])('builds %j as %s', (ref, path) => {
    expect(resourcePath(ref)).toBe(path);
  });

  it('rejects a named namespaced object without a namespace', () => {
    expect(() => resourcePath({ type: R.pods, name: 'p' })).toThrow('pods "p": namespaced resource needs a namespace');
  });

  it('rejects a namespace on a cluster-scoped type', () => {
    expect(() => resourcePath({ type: R.nodes, namespace: 'ci' })).toThrow('nodes is cluster-scoped');
  });

  it('rejects names that would change the path', () => {
    expect(() => resourcePath({ type: R.pods, namespace: 'ci', name: '../secrets' })).toThrow('invalid name "../secrets"');
    expect(() => resourcePath({ type: R.pods, namespace: 'c/i', name: 'p' })).toThrow('invalid namespace');
  });
});

describe('encodeQuery', () => {
  it.each([
    [undefined, ''],
    [{}, ''],
    [{ a: undefined }, ''],
    [{ labelSelector: 'app=x,tier in (a,b)' }, '?labelSelector=app%3Dx%2Ctier+in+%28a%2Cb%29'],
    [{ fieldSelector: 'metadata.name=job-1', watch: true, timeoutSeconds: 30 }, '?fieldSelector=metadata.name%3Djob-1&watch=true&timeoutSeconds=30'],
    [{ propagationPolicy: 'Background', dryRun: 'All' }, '?propagationPolicy=Background&dryRun=All'],
  ])('encodes %j as %s', (query, text) => {
    expect(encodeQuery(query)).toBe(text);
  });
});

describe('rbacVerb and resourceName', () => {
  it.each([
    ['GET', { type: R.pods, namespace: 'ci', name: 'p' }, 'get', 'pods'],
    ['GET', { type: R.pods, namespace: 'ci' }, 'list', 'pods'],
    ['POST', { type: R.persistentVolumeClaims, namespace: 'ci' }, 'create', 'persistentvolumeclaims'],
    ['PUT', { type: R.configMaps, namespace: 'ci', name: 'c' }, 'update', 'configmaps'],
    ['PATCH', { type: R.pods, namespace: 'ci', name: 'p', subresource: 'status' }, 'patch', 'pods/status'],
    ['DELETE', { type: R.pods, namespace: 'ci', name: 'p' }, 'delete', 'pods'],
    ['DELETE', { type: R.pods, namespace: 'ci' }, 'deletecollection', 'pods'],
    ['WATCH', { type: R.events, namespace: 'ci' }, 'watch', 'events'],
    ['GET', { type: R.pods, namespace: 'ci', name: 'p', subresource: 'log' }, 'get', 'pods/log'],
  ])('%s %j is RBAC verb %s on %s', (method, ref, verb, resource) => {
    expect(rbacVerb(method, ref)).toBe(verb);
    expect(resourceName(ref)).toBe(resource);
  });
});

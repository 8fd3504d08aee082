import { describe, expect, it } from 'vitest';
import { classifyRequest } from '../../fault-proxy/request-info.js';

describe('classifyRequest', () => {
  it.each([
    [
      'GET',
      '/api/v1/namespaces/ci/pods/runner-1',
      false,
      { verb: 'get', resource: 'pods', namespace: 'ci', name: 'runner-1', stream: undefined, type: 'get pods' },
    ],
    [
      'GET',
      '/api/v1/namespaces/ci/pods?labelSelector=runner-pod%3Dr',
      false,
      { verb: 'list', resource: 'pods', namespace: 'ci', name: undefined, type: 'list pods' },
    ],
    ['GET', '/api/v1/namespaces/ci/pods?watch=true&resourceVersion=5', false, { verb: 'watch', resource: 'pods', stream: 'watch', type: 'watch pods' }],
    ['GET', '/api/v1/namespaces/ci/pods?watch=1', false, { verb: 'watch', type: 'watch pods' }],
    ['GET', '/api/v1/watch/namespaces/ci/pods', false, { verb: 'watch', resource: 'pods', namespace: 'ci', type: 'watch pods' }],
    ['POST', '/api/v1/namespaces/ci/secrets', false, { verb: 'create', resource: 'secrets', type: 'create secrets' }],
    ['PUT', '/api/v1/namespaces/ci/configmaps/zfs-cache-a', false, { verb: 'update', resource: 'configmaps', name: 'zfs-cache-a', type: 'update configmaps' }],
    ['PATCH', '/api/v1/namespaces/ci/persistentvolumeclaims/c', false, { verb: 'patch', type: 'patch persistentvolumeclaims' }],
    ['DELETE', '/api/v1/namespaces/ci/pods/j', false, { verb: 'delete', type: 'delete pods' }],
    ['DELETE', '/api/v1/namespaces/ci/pods?labelSelector=a', false, { verb: 'deletecollection', type: 'deletecollection pods' }],
    ['GET', '/api/v1/namespaces/ci/pods/j/log?container=job', false, { verb: 'get', resource: 'pods/log', stream: undefined, type: 'get pods/log' }],
    ['GET', '/api/v1/namespaces/ci/pods/j/log?follow=true', false, { verb: 'get', resource: 'pods/log', stream: 'follow', type: 'get pods/log (follow)' }],
    [
      'GET',
      '/api/v1/namespaces/ci/pods/j/exec?command=sh&command=-c',
      true,
      { verb: 'exec', resource: 'pods/exec', stream: 'exec', command: ['sh', '-c'], type: 'exec pods/exec' },
    ],
    ['POST', '/api/v1/namespaces/ci/serviceaccounts/hook/token', false, { verb: 'create', resource: 'serviceaccounts/token', name: 'hook' }],
    [
      'GET',
      '/apis/snapshot.storage.k8s.io/v1/namespaces/ci/volumesnapshots/s',
      false,
      { group: 'snapshot.storage.k8s.io', verb: 'get', resource: 'volumesnapshots', namespace: 'ci', name: 's' },
    ],
    ['GET', '/api/v1/namespaces/ci', false, { group: '', verb: 'get', resource: 'namespaces', namespace: undefined, name: 'ci' }],
    ['PUT', '/api/v1/namespaces/ci/finalize', false, { verb: 'update', resource: 'namespaces/finalize', name: 'ci' }],
    ['GET', '/api/v1/nodes', false, { verb: 'list', resource: 'nodes', namespace: undefined }],
    ['GET', '/version', false, { group: undefined, verb: undefined, resource: undefined, type: 'GET /version' }],
  ] as const)('%s %s (upgrade: %s)', (method, url, upgrade, expected) => {
    expect(classifyRequest(method, url, upgrade)).toMatchObject(expected);
  });

  it('keeps the path apart from the query', () => {
    expect(classifyRequest('get', '/api/v1/namespaces/ci/pods?limit=2&continue=x')).toMatchObject({
      method: 'GET',
      path: '/api/v1/namespaces/ci/pods',
      query: { limit: '2', continue: 'x' },
    });
  });
});

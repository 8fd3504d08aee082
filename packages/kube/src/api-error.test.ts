import { describe, expect, it } from 'vitest';
import { parseStatus, toApiError } from './api-error.js';
import { isAlreadyExists, isConflict, isForbidden, isGone, isInvalid, isNotFound, KubeApiError, KubeError } from './errors.js';
import { fixture } from './fixtures/load.js';

const cm = { group: '', resource: 'configmaps', namespace: 'ci' };

describe('toApiError', () => {
  it('names verb, resource and namespace on 403 and tells which Role rule is missing', () => {
    const err = toApiError(403, parseStatus(fixture('status-403-forbidden.json')), {
      verb: 'create',
      group: '',
      resource: 'persistentvolumeclaims',
      namespace: 'ci',
    });
    expect(err.message).toBe(
      'forbidden: cannot create persistentvolumeclaims in namespace "ci" (HTTP 403). ' +
        `The hook's ServiceAccount needs a Role rule: apiGroups [""], resources ["persistentvolumeclaims"], verbs ["create"]`,
    );
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toBeInstanceOf(KubeError);
    expect(isForbidden(err)).toBe(true);
    expect(err.reason).toBe('Forbidden');
    expect(err.serverMessage).toContain('system:serviceaccount:ci:runner');
  });

  it('asks for a ClusterRole rule on a cluster-scoped 403 and for create+get on pods/exec', () => {
    const scoped = toApiError(403, undefined, { verb: 'list', group: 'storage.k8s.io', resource: 'storageclasses' });
    expect(scoped.message).toBe(
      `forbidden: cannot list storageclasses cluster-wide (HTTP 403). The hook's ServiceAccount needs a ClusterRole rule: apiGroups ["storage.k8s.io"], resources ["storageclasses"], verbs ["list"]`,
    );
    const exec = toApiError(403, undefined, { verb: 'create', group: '', resource: 'pods/exec', namespace: 'ci', name: 'job' });
    expect(exec.hint).toBe(`The hook's ServiceAccount needs a Role rule: apiGroups [""], resources ["pods/exec"], verbs ["create", "get"]`);
  });

  it('names the object a rule with resourceNames must cover when a write by name is forbidden', () => {
    const err = toApiError(403, undefined, { ...cm, verb: 'update', name: 'zfs-cache-other' });
    expect(err.message).toBe(
      'forbidden: cannot update configmaps in namespace "ci" (HTTP 403). ' +
        `The hook's ServiceAccount needs a Role rule: apiGroups [""], resources ["configmaps"], verbs ["update"] that covers configmaps "zfs-cache-other" ` +
        '(when the rule lists resourceNames, add "zfs-cache-other" to them)',
    );
  });

  it('says what was not found and where on 404', () => {
    const err = toApiError(404, parseStatus(fixture('status-404-not-found.json')), { ...cm, verb: 'get', name: 'missing' });
    expect(err.message).toBe('configmaps "missing" not found in namespace "ci" (HTTP 404)');
    expect(isNotFound(err)).toBe(true);
    expect(err.code).toBe('NOT_FOUND');
  });

  it('tells AlreadyExists apart from a resourceVersion Conflict on 409', () => {
    const exists = toApiError(409, parseStatus(fixture('status-409-already-exists.json')), { ...cm, verb: 'create' });
    expect(exists.message).toBe('configmaps "cache-head" already exists in namespace "ci" (HTTP 409)');
    expect([isAlreadyExists(exists), isConflict(exists)]).toEqual([true, false]);

    const conflict = toApiError(409, parseStatus(fixture('status-409-conflict.json')), { ...cm, verb: 'update', name: 'cache-head' });
    expect(conflict.message).toBe(
      'Operation cannot be fulfilled on configmaps "cache-head": the object has been modified; please apply your changes to the latest version and try again (HTTP 409). ' +
        'Read the object again and retry with its current resourceVersion',
    );
    expect([isAlreadyExists(conflict), isConflict(conflict)]).toEqual([false, true]);
  });

  it('lists the field causes on 422', () => {
    const err = toApiError(422, parseStatus(fixture('status-422-invalid.json')), { ...cm, verb: 'create' });
    expect(err.message).toMatch(/^ConfigMap "Bad_Name" is invalid \(HTTP 422\): metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
    expect(isInvalid(err)).toBe(true);
    expect(err.causes).toEqual([expect.objectContaining({ field: 'metadata.name', reason: 'FieldValueInvalid' })]);
  });

  it('never shows a body that is not a Status', () => {
    const html = '<html><body>502 Bad Gateway from proxy secret-token-abc</body></html>';
    const err = toApiError(502, parseStatus(html), { ...cm, verb: 'get', name: 'x' });
    expect(err.message).toBe('get configmaps "x" failed with HTTP 502 (the response was not a Kubernetes Status)');
    expect(err.message).not.toContain('secret-token');
    expect(err.code).toBe('SERVER_ERROR');
  });

  it('gives 410 Gone the code GONE so a watcher can list again', () => {
    const event = JSON.parse(fixture('watch-410-expired.json')) as { object: unknown };
    const err = toApiError(410, event.object as never, { ...cm, verb: 'watch' });
    expect(isGone(err)).toBe(true);
    expect(err.message).toBe('too old resource version: 1 (2345) (HTTP 410). List again and watch from the new resourceVersion');
  });
});

import { describe, expect, it } from 'vitest';
import { MANAGED_SELECTOR, ROLE_LABEL } from './labels.js';
import { shortHash } from './names.js';
import { ownerReference, podOwner } from './owner.js';

describe('shortHash', () => {
  it('is the first 8 hex digits of the SHA-256 of the parts joined by NUL (names of existing objects depend on it)', () => {
    expect(shortHash('runner-1', 'job', 'seed')).toBe('78030a60');
    expect(shortHash('runner-1', 'job', 'seed')).not.toBe(shortHash('runner-1job', 'seed'));
  });
});

describe('labels', () => {
  it('selects every object of the project by app.kubernetes.io/managed-by', () => {
    expect(MANAGED_SELECTOR).toBe('app.kubernetes.io/managed-by=zfs-runner-hooks');
    expect(ROLE_LABEL).toBe('zrh.dev/role');
  });
});

describe('ownerReference', () => {
  it('makes a pod the owner of an object', () => {
    expect(ownerReference(podOwner('runner-1', 'uid-1'))).toStrictEqual({ apiVersion: 'v1', kind: 'Pod', name: 'runner-1', uid: 'uid-1' });
  });
});

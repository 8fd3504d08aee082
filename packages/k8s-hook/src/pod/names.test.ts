import { describe, expect, it } from 'vitest';
import { imageBaseName, isObjectNameOf, objectName, serviceContainerNames, toDnsLabel } from './names.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('objectName', () => {
  it('builds <runner>-job-<hash8>', () => {
    expect(objectName('arc-runner-x7k2p', 'job', 's1')).toMatch(/^arc-runner-x7k2p-job-[0-9a-f]{8}$/);
  });

  it('stays a DNS label of at most 63 characters for long runner names, and does not collide', () => {
    const a = objectName(`${'a'.repeat(70)}-one`, 'job', 's');
    const b = objectName(`${'a'.repeat(70)}-two`, 'job', 's');
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(DNS_LABEL);
    expect(a).not.toBe(b);
  });

  it('differs per seed and per kind', () => {
    expect(objectName('r', 'job', '1')).not.toBe(objectName('r', 'job', '2'));
    expect(objectName('r', 'step', '1')).not.toBe(objectName('r', 'reg', '1'));
  });
});

describe('imageBaseName', () => {
  it.each([
    ['redis', 'redis'],
    ['redis:7-alpine', 'redis'],
    ['docker.io/library/postgres:16', 'postgres'],
    ['localhost:5000/team/my_db:1.0', 'my_db'],
    ['ghcr.io/o/img@sha256:abcd', 'img'],
  ])('%s → %s', (image, name) => expect(imageBaseName(image)).toBe(name));
});

describe('serviceContainerNames', () => {
  it('sanitises to DNS labels and de-duplicates in request order', () => {
    expect(serviceContainerNames(['redis', 'redis:7', 'ghcr.io/o/My_DB:1', 'job', '___'])).toEqual(['redis', 'redis-2', 'my-db', 'job-2', 'service']);
  });

  it('produces valid container names for any image', () => {
    for (const n of serviceContainerNames(['a'.repeat(80), 'x.y.z', '-lead'])) expect(n).toMatch(DNS_LABEL);
  });
});

describe('toDnsLabel', () => {
  it('trims dashes left by truncation', () => expect(toDnsLabel('abc-def', 4)).toBe('abc'));
});

describe('isObjectNameOf', () => {
  it("knows the names objectName gives a runner's objects, also with a long runner pod name", () => {
    for (const runner of ['arc-runner-x7k2p', `${'a'.repeat(70)}-one`, 'Runner_Pod.1']) {
      expect(isObjectNameOf(runner, ['reg', 'env'], objectName(runner, 'reg', 'seed/0'))).toBe(true);
      expect(isObjectNameOf(runner, ['reg', 'env'], objectName(runner, 'env', 'seed'))).toBe(true);
      expect(isObjectNameOf(runner, ['reg', 'env'], objectName(runner, 'job', 'seed'))).toBe(false);
    }
  });

  it("refuses every other name: another runner's, someone else's Secret, a near miss", () => {
    const name = objectName('arc-runner-x7k2p', 'reg', 's');
    expect(isObjectNameOf('arc-runner-other', ['reg'], name)).toBe(false);
    for (const other of ['github-app', 'arc-runner-x7k2p-reg-', 'arc-runner-x7k2p-reg-0123456g', `${name}0`, `x${name}`, 'arc-runner-x7k2p-reg-ABCDEF01']) {
      expect(isObjectNameOf('arc-runner-x7k2p', ['reg', 'env'], other)).toBe(false);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { parseCreateOptions, splitArgs } from './create-options.js';

describe('splitArgs', () => {
  it.each([
    ['--cpus 2 --user 1000', ['--cpus', '2', '--user', '1000']],
    [`-e "A=b c" -e 'D=$x'`, ['-e', 'A=b c', '-e', 'D=$x']],
    ['-e A=a\\ b', ['-e', 'A=a b']],
    ['  ', []],
    [`-e ""`, ['-e', '']],
  ])('%s', (text, args) => expect(splitArgs(text)).toEqual(args));
});

describe('parseCreateOptions', () => {
  it('honours the documented flags', () => {
    const o = parseCreateOptions(
      '--user 1001:123 --workdir=/src -e A=1 --env "B=x y" --label team=ci --cpus 1.5 -m 2g --cap-add NET_ADMIN --cap-drop=ALL --read-only --security-opt no-new-privileges --shm-size 1g',
    );
    expect(o).toEqual({
      securityContext: {
        runAsUser: 1001,
        runAsGroup: 123,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
      },
      resources: { limits: { cpu: '1.5', memory: '2Gi' } },
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: 'x y' },
      ],
      workingDir: '/src',
      labels: { team: 'ci' },
      shmSize: '1Gi',
      ignored: [],
    });
  });

  it.each([
    ['--privileged', '--privileged: not supported'],
    ['--network host', '--network host: not supported'],
    ['--hostname=x', '--hostname x: not supported'],
    ['--user runner', '--user runner: only numeric uid[:gid]'],
    ['-e FROM_HOST', '-e FROM_HOST: only NAME=value'],
    ['--cpus', '--cpus: missing value'],
    ['--security-opt seccomp=unconfined', 'only no-new-privileges'],
  ])('reports %s instead of dropping it', (text, message) => {
    expect(parseCreateOptions(text).ignored).toEqual([expect.stringContaining(message)]);
  });

  it('accepts no options', () => {
    expect(parseCreateOptions(undefined)).toEqual({ env: [], labels: {}, ignored: [] });
  });
});

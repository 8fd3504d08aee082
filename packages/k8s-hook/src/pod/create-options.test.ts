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
      user: '1001:123',
      shmSize: '1Gi',
      ignored: [],
    });
  });

  it.each([
    ['--privileged', { privileged: true }],
    ['--privileged=false', undefined],
    ['--user 0', { runAsUser: 0 }],
    ['--user root', { runAsUser: 0 }],
    ['-u root:root', { runAsUser: 0, runAsGroup: 0 }],
    ['--user 1001:0', { runAsUser: 1001, runAsGroup: 0 }],
    ['--cap-add cap_sys_admin', { capabilities: { add: ['SYS_ADMIN'] } }],
    ['--cap-add=ALL', { capabilities: { add: ['ALL'] } }],
    ['--security-opt seccomp=unconfined', { seccompProfile: { type: 'Unconfined' } }],
    ['--security-opt apparmor:unconfined', { appArmorProfile: { type: 'Unconfined' } }],
    ['--security-opt no-new-privileges:true', { allowPrivilegeEscalation: false }],
    ['--security-opt no-new-privileges=false', undefined],
  ])('%s asks for %o (the limits decide whether it is granted)', (text, securityContext) => {
    const o = parseCreateOptions(text);
    expect(o.securityContext).toEqual(securityContext);
    expect(o.ignored).toEqual([]);
  });

  it('keeps --user as written for messages', () => {
    expect(parseCreateOptions('-u root:0').user).toBe('root:0');
  });

  it.each([
    ['--network host', '--network host: not supported'],
    ['--hostname=x', '--hostname x: not supported'],
    ['--user runner', '--user runner: only numeric uid[:gid]'],
    ['--user 1:2:3', '--user 1:2:3: only numeric uid[:gid]'],
    ['--user 1000:', '--user 1000:: only numeric uid[:gid]'],
    ['-e FROM_HOST', '-e FROM_HOST: only NAME=value'],
    ['--cpus', '--cpus: missing value'],
    ['--security-opt seccomp=/tmp/profile.json', 'only no-new-privileges, seccomp=unconfined'],
    ['--security-opt label=disable', 'only no-new-privileges'],
    ['--security-opt systempaths=unconfined', 'only no-new-privileges'],
  ])('reports %s instead of dropping it', (text, message) => {
    expect(parseCreateOptions(text).ignored).toEqual([expect.stringContaining(message)]);
  });

  it('accepts no options', () => {
    expect(parseCreateOptions(undefined)).toEqual({ env: [], labels: {}, ignored: [] });
  });
});

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { NS, seededCluster } from '../../ops/ops.fixtures.js';
import { runCli } from '../run.js';
import { headRoleReminder, headRoleRule } from './head-rule.js';

async function seed(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const text = { stdout: '', stderr: '' };
  const sink = (key: keyof typeof text) =>
    new Writable({
      write(chunk, _enc, done) {
        text[key] += String(chunk);
        done();
      },
    });
  const fake = seededCluster();
  const code = await runCli(['-n', NS, 'seed', ...argv], {
    stdout: sink('stdout'),
    stderr: sink('stderr'),
    connect: async () => fake,
    now: () => new Date('2025-01-01T01:00:00Z'),
  });
  return { code, ...text };
}

describe('headRoleRule', () => {
  it("names only the cache's head, for update", () => {
    expect(headRoleRule('clang17-main')).toEqual({ apiGroups: [''], resources: ['configmaps'], resourceNames: ['zfs-cache-clang17-main'], verbs: ['update'] });
  });

  it('writes the rule as a YAML list item to paste into the rules', () => {
    expect(headRoleReminder('clang').split('\n').slice(3)).toEqual([
      '  - apiGroups: [""]',
      '    resources: ["configmaps"]',
      '    resourceNames: ["zfs-cache-clang"]',
      '    verbs: ["update"]',
      '',
    ]);
  });
});

describe('zfs-clone seed', () => {
  it('prints the Role rule for the new head on stderr after seeding, stdout unchanged', async () => {
    const { code, stdout, stderr } = await seed('clang', '--from-pvc', 'golden', '--repository', 'acme/compiler');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^cache\/clang seeded: generation 1 -> clang-seed-[0-9a-f]{8}; jobs of acme\/compiler may promote it\n$/);
    expect(stderr).toContain(
      `Jobs can promote cache clang only if the runner's Role may update its head by name: add "zfs-cache-clang" to the resourceNames\n` +
        'of the configmaps "update" rule (deploy/rbac/hook-role.yaml, or containerMode.kubernetesModeAdditionalRoleRules in the Helm values),\n',
    );
    expect(stderr.endsWith(headRoleReminder('clang'))).toBe(true);
  });

  it('prints it with -o json too (stdout stays JSON)', async () => {
    const { code, stdout, stderr } = await seed('clang', '--from-pvc', 'golden', '-o', 'json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ generation: 1 });
    expect(stderr.endsWith(headRoleReminder('clang'))).toBe(true);
  });

  it('prints no rule when seeding fails', async () => {
    const { code, stderr } = await seed('gcc12', '--from-pvc', 'golden');
    expect(code).not.toBe(0);
    expect(stderr).not.toContain('resourceNames');
  });
});

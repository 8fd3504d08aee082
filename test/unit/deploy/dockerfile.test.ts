import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { Arg, Env } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { copiesOf, instructionsOf, readStages, workdirOf, type Stage } from './dockerfile-stages.js';
import { isInBuildContext, readDockerignore } from './dockerignore.js';
import { repoPath } from './repo.js';

const stages = readStages(repoPath('Dockerfile.runner'));
const finalStage = stages.at(-1) as Stage;
const buildStages = stages.slice(0, -1);
const ignoreRules = readDockerignore(repoPath('.dockerignore'));

const HOOK_PATH = '/home/runner/k8s/index.js';
const SECRET_NAME = /TOKEN|SECRET|PASSW|CREDENTIAL|API_?KEY|PRIVATE|AUTH/i;
const PACKAGE_MANAGER = /\b(apt-get|apt|aptitude|dpkg|apk|dnf|yum|microdnf|npm|npx|pnpm|yarn|corepack|pip3?|gem|curl|wget)\b/;

function stageNamed(name: string): Stage {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`Dockerfile.runner has no stage named "${name}"`);
  return stage;
}

describe('Dockerfile.runner', () => {
  it('builds the hook in an earlier stage and ends on the official runner image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(finalStage.from.getRegistry()).toBe('ghcr.io');
    expect(finalStage.from.getImageName()).toBe('actions/actions-runner');
  });

  it.each(stages.map((s) => [s.from.getImage() ?? '(none)', s] as const))('pins base image %s to an exact version and digest', (_image, stage) => {
    const tag = stage.from.getImageTag();
    expect(tag, 'FROM without a tag').not.toBeNull();
    expect(tag).not.toBe('latest');
    expect(tag).toMatch(/^\d+\.\d+\.\d+(-[a-z0-9.-]+)?$/);
    expect(stage.from.getImageDigest()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(stage.from.getImage()).not.toMatch(/\$/);
  });

  it('puts the bundled hook at the path ARC runs and the zfs-clone bundle beside it, and nothing else from the build stages', () => {
    const fromBuild = copiesOf(finalStage).filter((c) => c.from !== null);
    expect(fromBuild.map((c) => c.destination)).toEqual([HOOK_PATH, '/home/runner/k8s/zfs-clone.cjs']);
    expect(fromBuild[1]?.sources).toEqual(['/src/packages/zfs-clone/dist/zfs-clone.cjs']);
    for (const copy of fromBuild) {
      expect(
        copy.sources.every((s) => s.endsWith('.js') || s.endsWith('.cjs')),
        `copies more than a file: ${copy.sources.join(' ')}`,
      ).toBe(true);
    }
    expect(instructionsOf(finalStage, 'ADD')).toEqual([]);
    expect(copiesOf(finalStage).filter((c) => c.from === null)).toEqual([]);
  });

  it('copies the bundle that the workspace build writes to packages/k8s-hook/dist/index.js', () => {
    const [copy] = copiesOf(finalStage).filter((c) => c.destination === HOOK_PATH);
    const source = stageNamed(copy?.from ?? '');
    const [bundle] = copy?.sources ?? [];
    const relative = posix.relative(workdirOf(source), bundle ?? '');
    expect(relative).toBe('packages/k8s-hook/dist/index.js');

    const runs = instructionsOf(source, 'RUN').map((r) => r.getArgumentsContent() ?? '');
    expect(runs.some((r) => r.includes('--filter "@zfs-runner-hooks/k8s-hook..." run build'))).toBe(true);
    expect(existsSync(repoPath(relative)), `${relative} is missing: the build stage runs the workspace build; run \`pnpm -r run build\` first`).toBe(true);
  });

  it.each(
    buildStages.flatMap((stage) =>
      copiesOf(stage)
        .filter((c) => c.from === null)
        .flatMap((c) => c.sources),
    ),
  )('builds from %s, which exists in the repository and is sent in the build context', (source) => {
    expect(existsSync(repoPath(source)), `${source} does not exist`).toBe(true);
    expect(isInBuildContext(ignoreRules, source), `.dockerignore leaves ${source} out`).toBe(true);
  });

  it('installs with the committed lockfile and the pinned pnpm', () => {
    const runs = buildStages.flatMap((s) => instructionsOf(s, 'RUN').map((r) => r.getArgumentsContent() ?? ''));
    const rootPackage = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { packageManager?: string };
    expect(rootPackage.packageManager).toBeDefined();
    expect(runs.some((r) => r.includes(rootPackage.packageManager ?? '?'))).toBe(true);
    expect(runs.some((r) => /pnpm install .*--frozen-lockfile/.test(r))).toBe(true);
  });

  it('keeps local state out of the build context', () => {
    for (const path of [
      '.env',
      'node_modules/.pnpm/x',
      'packages/k8s-hook/node_modules/yaml/index.js',
      'packages/k8s-hook/dist/index.js',
      'packages/kube/lib/index.js',
      'test/cluster/versions.env',
      '.git/config',
    ]) {
      expect(isInBuildContext(ignoreRules, path), path).toBe(false);
    }
  });

  it('runs as the runner user (uid 1001)', () => {
    const user = instructionsOf(finalStage, 'USER').at(-1)?.getArgumentsContent();
    expect(['runner', '1001', 'runner:docker', '1001:123']).toContain(user);
  });

  it('declares no build argument or environment variable that could hold a secret', () => {
    const names = stages.flatMap((stage) => [
      ...instructionsOf(stage, 'ARG').map((i) => (i as Arg).getProperty()?.getName() ?? ''),
      ...instructionsOf(stage, 'ENV').flatMap((i) => (i as Env).getProperties().map((p) => p.getName())),
    ]);
    expect(names.filter((n) => SECRET_NAME.test(n))).toEqual([]);
  });

  it('installs no packages and downloads nothing in the final image', () => {
    const runs = instructionsOf(finalStage, 'RUN').map((r) => r.getArgumentsContent() ?? '');
    expect(runs.filter((r) => PACKAGE_MANAGER.test(r))).toEqual([]);
  });
});

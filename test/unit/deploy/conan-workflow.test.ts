import { describe, expect, it } from 'vitest';
import { check } from '@zfs-runner-hooks/vocabulary';
import { runnerSettingsSchema, workflowSettingsSchema } from '../../../packages/zfs-clone/src/index.js';
import { readYaml } from './deploy-files.js';
import { readValues } from './helm-values.js';

const WORKFLOW_FILE = 'deploy/examples/conan-workflow.yml';

interface Job {
  readonly 'runs-on'?: string | readonly string[];
  readonly container?: {
    readonly image?: string;
    readonly options?: string;
    readonly env?: Readonly<Record<string, string | number | boolean>>;
  };
}

const workflow = readYaml(WORKFLOW_FILE) as { jobs?: Record<string, Job> };
const jobs = Object.entries(workflow.jobs ?? {});
const isExpression = (value: string) => /^\$\{\{.*\}\}$/s.test(value.trim());

describe('deploy/examples/conan-workflow.yml', () => {
  it('has jobs', () => {
    expect(jobs.length).toBeGreaterThan(0);
  });

  it.each(jobs)('job %s runs on the scale set of the Helm values', (_name, job) => {
    expect(job['runs-on']).toBe(readValues().runnerScaleSetName);
  });

  it.each(jobs)('job %s picks its cache with settings the workflow schema knows', (_name, job) => {
    const env = Object.fromEntries(Object.entries(job.container?.env ?? {}).map(([k, v]) => [k, String(v)]));
    expect(env['ZFS_CLONE_SOURCE']).toBeDefined();
    const names = Object.keys(env).filter((k) => k.startsWith('ZFS_CLONE_'));
    expect(names.filter((k) => !(k in workflowSettingsSchema.shape))).toEqual([]);
    expect(
      names.filter((k) => k in runnerSettingsSchema.shape),
      'runner limits cannot be set by a workflow',
    ).toEqual([]);

    const literal = Object.fromEntries(names.filter((k) => !isExpression(env[k] ?? '')).map((k) => [k, env[k]]));
    const result = check.parse(workflowSettingsSchema, literal);
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  it.each(jobs)('job %s evaluates the promote expression to a value the schema accepts', (_name, job) => {
    const promote = String(job.container?.env?.['ZFS_CLONE_PROMOTE'] ?? 'false');
    const outcomes = isExpression(promote) ? ['true', 'false'] : [promote];
    for (const value of outcomes) {
      expect(check.parse(workflowSettingsSchema, { ZFS_CLONE_PROMOTE: value }).ok).toBe(true);
    }
  });

  it.each(jobs)('job %s runs its container as a non-root user', (_name, job) => {
    const user = /--user[= ](\S+)/.exec(job.container?.options ?? '')?.[1] ?? '';
    const [uid] = user.split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).not.toBe(0);
  });

  it.each(jobs)('job %s passes no secret through container.env', (_name, job) => {
    const values = Object.values(job.container?.env ?? {}).map(String);
    expect(values.filter((v) => /secrets\./.test(v))).toEqual([]);
  });
});

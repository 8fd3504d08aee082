import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sampleJobState } from '../testing/fixtures.js';
import { canonicalJson, sealState, unsealState } from './state-seal.js';

const key = randomBytes(32);
const sealed = () => JSON.parse(JSON.stringify(sealState(sampleJobState(), 3, key))) as Record<string, any>;

describe('canonicalJson', () => {
  it('sorts keys at every level and leaves out undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 'é' }], c: undefined } })).toBe('{"a":{"d":[1,{"x":"é","y":2}]},"b":1}');
  });
});

describe('sealState / unsealState', () => {
  it('accepts its own seal after a JSON round trip with other key order and spacing (as the runner re-serialises it)', () => {
    const s = sealed();
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(s).reverse()), null, 2)) as unknown;
    const result = unsealState(reordered, key);
    expect(result).toMatchObject({ ok: true, seq: 3 });
    if (result.ok) expect(result.body).toEqual(sampleJobState());
  });

  it('replaces an older seal instead of sealing it', () => {
    const again = sealState(sealed(), 4, key);
    expect(again.seal.seq).toBe(4);
    expect(unsealState(again, key)).toMatchObject({ ok: true, seq: 4 });
  });

  it.each<[string, (s: Record<string, any>) => void]>([
    ['namespace', (s) => (s.namespace = 'other')],
    ["jobPod (exec into another job's pod)", (s) => (s.jobPod = 'other-job-pod')],
    ['hasJobContainer', (s) => (s.hasJobContainer = false)],
    ['secrets (deleted by name)', (s) => s.secrets.push('github-app-key')],
    ['runnerPod.name', (s) => (s.runnerPod.name = 'runner-2')],
    ['workspace.mode (copy mode turned on)', (s) => (s.workspace.mode = 'copy')],
    ['workspace.workDir', (s) => (s.workspace.workDir = '/home/runner')],
    ['workspace.copiedActions', (s) => s.workspace.copiedActions.push('_actions/o/r/v1')],
    ['steps.failed', (s) => (s.steps.failed = 2)],
    ['clone.policy.promote', (s) => (s.clone.policy.promote = true)],
    ['an added field', (s) => (s.extra = 1)],
    ['a removed field', (s) => delete s.jobImage],
    ['seal.seq (a replay under a newer number)', (s) => (s.seal.seq = 4)],
  ])('refuses a state whose %s was changed', (_what, change) => {
    const s = sealed();
    change(s);
    expect(unsealState(s, key)).toEqual({ ok: false, reason: expect.stringContaining('MAC does not match') });
  });

  it('refuses a state sealed under another key (another job or runner)', () => {
    expect(unsealState(sealed(), randomBytes(32))).toMatchObject({ ok: false, reason: expect.stringContaining('MAC does not match') });
  });

  it.each<[string, unknown, string]>([
    ['no seal (an unsealed or forged state)', sampleJobState(), 'carries no seal'],
    ['a string', 'state', 'not an object'],
    ['an array', [], 'not an object'],
    ['a seal that is not an object', { ...sampleJobState(), seal: 'x' }, 'seal is not an object'],
    ['a seal without a number', { ...sampleJobState(), seal: { mac: 'x'.repeat(43) } }, 'no valid sequence number'],
    ['sequence number 0', { ...sampleJobState(), seal: { seq: 0, mac: 'x'.repeat(43) } }, 'no valid sequence number'],
    ['a short MAC', { ...sampleJobState(), seal: { seq: 1, mac: 'abc' } }, 'no valid MAC'],
  ])('refuses %s', (_what, raw, reason) => {
    expect(unsealState(raw, key)).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it('never quotes the state in its reason', () => {
    const s = sealed();
    s.namespace = 'SECRET-CONTENT';
    const result = unsealState(s, key);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).not.toContain('SECRET-CONTENT');
  });
});

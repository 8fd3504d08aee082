import { describe, expect, it } from 'vitest';
import { classifyRequest } from '../../fault-proxy/request-info.js';
import { RuleSet } from '../../fault-proxy/rule-set.js';

const list = classifyRequest('GET', '/api/v1/namespaces/ci/pods');
const create = classifyRequest('POST', '/api/v1/namespaces/ci/pods');

/** Which of `n` list requests the rules hit (the rule's text, or '-'). */
function hits(rules: RuleSet, n: number): string[] {
  return Array.from({ length: n }, () => rules.pick(list)?.text ?? '-');
}

describe('RuleSet', () => {
  it.each([
    ['503 x2 on list pods', ['503', '503', '-', '-', '-', '-']],
    ['503 after=2 on list pods', ['-', '-', '503', '503', '503', '503']],
    ['503 every=3 on list pods', ['503', '-', '-', '503', '-', '-']],
    ['503 every=2 after=1 x2 on list pods', ['-', '503', '-', '503', '-', '-']],
    ['503 x0 on list pods', ['-', '-', '-', '-', '-', '-']],
    ['503 on create pods', ['-', '-', '-', '-', '-', '-']],
  ])('%s hits %j of six list requests', (script, expected) => {
    const rules = new RuleSet();
    rules.add(script);
    expect(hits(rules, 6).map((h) => (h === '-' ? '-' : h.split(' ')[0]))).toEqual(expected);
  });

  it('the first rule due hits; every matching rule still counts the request', () => {
    const rules = new RuleSet();
    const [first, second] = rules.add('429 x1 on list pods\n503 x2 on GET');
    expect(hits(rules, 4)).toEqual(['429 x1 on list pods', '503 x2 on GET', '503 x2 on GET', '-']);
    expect(first).toMatchObject({ seen: 4, hits: 1 });
    expect(second).toMatchObject({ seen: 4, hits: 2 });
    expect(rules.pick(create)).toBeUndefined();
  });

  it('each fault hits only requests it can act on: 410 a watch from a version, drop-exec an exec, a cut a response body', () => {
    const rules = new RuleSet();
    rules.add('gone\ndrop-exec after-ms=1\ncut-stream after-events=1');
    const pick = (method: string, url: string, upgrade = false) => rules.pick(classifyRequest(method, url, upgrade))?.text;
    expect(pick('GET', '/api/v1/namespaces/ci/pods?watch=true&resourceVersion=3')).toBe('gone');
    expect(pick('GET', '/api/v1/namespaces/ci/pods?watch=true')).toBe('cut-stream after-events=1');
    expect(pick('GET', '/api/v1/namespaces/ci/pods/p/exec?command=sh', true)).toBe('drop-exec after-ms=1');
    const cutOnly = new RuleSet();
    cutOnly.add('cut-stream after-events=1\nstall after-ms=1');
    expect(cutOnly.pick(classifyRequest('GET', '/api/v1/namespaces/ci/pods/p/exec?command=sh', true))).toBeUndefined();
  });

  it('a removed or cleared rule hits nothing more', () => {
    const rules = new RuleSet();
    const [rule] = rules.add({ fault: { kind: 'reset' }, match: { verb: 'list' } });
    expect(rules.pick(list)?.text).toBe('reset on list');
    rule?.remove();
    expect(rules.pick(list)).toBeUndefined();
    rules.add('reset');
    rules.clear();
    expect(rules.pick(create)).toBeUndefined();
  });

  it('refuses a rule object with impossible numbers', () => {
    const rules = new RuleSet();
    expect(() => rules.add({ fault: { kind: 'dropExec' }, every: 0 })).toThrow(
      /every must be an integer >= 1, got 0[\s\S]*drop-exec needs after-bytes or after-ms/,
    );
  });
});

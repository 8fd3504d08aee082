import { describe, expect, it } from 'vitest';
import { describeRule, parseFaultRule, parseFaultScript, FaultScriptError } from '../../fault-proxy/fault-script.js';
import type { FaultRule } from '../../fault-proxy/faults.js';

describe('parseFaultScript', () => {
  it.each<[string, FaultRule]>([
    [
      '429 retry-after=1 x3 on create pods',
      { fault: { kind: 'status', status: 429, retryAfterSeconds: 1 }, times: 3, match: { verb: 'create', resource: 'pods' } },
    ],
    ['503 times=2 on GET', { fault: { kind: 'status', status: 503 }, times: 2, match: { method: 'GET' } }],
    ['500 every=2 after=1', { fault: { kind: 'status', status: 500 }, every: 2, after: 1 }],
    ['reset on list persistentvolumeclaims', { fault: { kind: 'reset' }, match: { verb: 'list', resource: 'persistentvolumeclaims' } }],
    ['reset-after-commit on create secrets x1', { fault: { kind: 'reset', afterCommit: true }, times: 1, match: { verb: 'create', resource: 'secrets' } }],
    ['cut-stream after-events=1 on watch pods', { fault: { kind: 'cutStream', afterEvents: 1 }, match: { verb: 'watch', resource: 'pods' } }],
    [
      'cut-stream after-ms=500 mode=close on get pods/log stream=follow',
      { fault: { kind: 'cutStream', afterMs: 500, mode: 'close' }, match: { verb: 'get', resource: 'pods/log', stream: 'follow' } },
    ],
    ['gone as=status on watch volumesnapshots', { fault: { kind: 'gone', as: 'status' }, match: { verb: 'watch', resource: 'volumesnapshots' } }],
    ['stall after-bytes=64 on namespace=ci name=job-1', { fault: { kind: 'stall', afterBytes: 64 }, match: { namespace: 'ci', name: 'job-1' } }],
    ['drop-exec after-ms=300 on exec', { fault: { kind: 'dropExec', afterMs: 300 }, match: { verb: 'exec' } }],
    ['410 on type="get pods/log (follow)" group=""', { fault: { kind: 'status', status: 410 }, match: { type: 'get pods/log (follow)', group: '' } }],
  ])('%s', (line, rule) => {
    expect(parseFaultScript(line)).toEqual([rule]);
  });

  it('reads a path as a regular expression', () => {
    const [rule] = parseFaultScript('503 on POST path=^/api/v1/namespaces/[^/]+/pods$');
    expect(rule?.match?.path?.test('/api/v1/namespaces/ci/pods')).toBe(true);
    expect(rule?.match?.path?.test('/api/v1/namespaces/ci/pods/x')).toBe(false);
  });

  it('skips blank lines and comments', () => {
    expect(parseFaultScript('# a burst\n\n429 x2   # then through\n')).toEqual([{ fault: { kind: 'status', status: 429 }, times: 2 }]);
  });

  it('reports every problem with its line', () => {
    const script = ['resett on pods', '429 retry-after=soon on list pods', 'stall on watch pods', 'gone mode=close', '503 on frobnicate=1', '503 on'].join(
      '\n',
    );
    const error = (() => {
      try {
        parseFaultScript(script);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(FaultScriptError);
    expect((error as FaultScriptError).problems).toEqual([
      'line 1: unknown fault "resett" (expected an HTTP status such as 429, or reset, reset-after-commit, cut-stream, stall, gone, drop-exec)',
      'line 2: retry-after=soon: expected a whole number',
      'line 2: retry-after must be an integer >= 0, got NaN',
      'line 3: stall needs after-bytes, after-events or after-ms',
      'line 4: mode=close: gone takes as',
      'line 5: frobnicate=1: unknown term "frobnicate"',
      'line 6: "on" needs a match after it',
    ]);
  });
});

describe('describeRule', () => {
  it.each([
    '429 retry-after=1 x3 on create pods',
    'reset-after-commit x1 on POST create secrets namespace=ci',
    'cut-stream after-events=2 mode=close every=2 after=1 on watch pods',
    'stall after-ms=10 on get pods/log stream=follow',
    'gone as=status on watch volumesnapshots group=snapshot.storage.k8s.io',
    'drop-exec after-bytes=100 on exec pods/exec',
    '503 on path=^/api/v1/ type="get pods/log (follow)"',
    '500',
  ])('reads back what it wrote: %s', (line) => {
    const rule = parseFaultRule(line);
    expect(rule).toBeDefined();
    expect(describeRule(rule!)).toBe(line);
    expect(parseFaultRule(describeRule(rule!))).toEqual(rule);
  });
});

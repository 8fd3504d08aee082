import { describe, expect, it } from 'vitest';
import { ThresholdGate } from '../../fault-proxy/threshold.js';

/** Feeds `chunks` until the gate closes; returns what passed and whether it closed. */
function feed(gate: ThresholdGate, chunks: string[]): { passed: string; reached: boolean } {
  let passed = '';
  for (const chunk of chunks) {
    const { pass, reached } = gate.take(Buffer.from(chunk));
    passed += pass.toString();
    if (reached) return { passed, reached };
  }
  return { passed, reached: false };
}

describe('ThresholdGate', () => {
  it.each([
    [{ afterEvents: 2 }, ['a\nb', '\nc\n'], 'a\nb\n', true],
    [{ afterEvents: 1 }, ['{"x":1}\n{"x":2}\n'], '{"x":1}\n', true],
    [{ afterBytes: 4 }, ['ab', 'cdef'], 'abcd', true],
    [{ afterBytes: 4, afterEvents: 1 }, ['ab\ncdef'], 'ab\n', true],
    [{ afterBytes: 2, afterEvents: 1 }, ['abc\n'], 'ab', true],
    [{ afterEvents: 3 }, ['a\n', 'b\n'], 'a\nb\n', false],
  ])('%j over %j passes %j', (threshold, chunks, passed, reached) => {
    expect(feed(new ThresholdGate(threshold), chunks)).toEqual({ passed, reached });
  });

  it('a zero threshold lets nothing through', () => {
    expect(new ThresholdGate({ afterEvents: 0 }).reachedAtStart).toBe(true);
    expect(new ThresholdGate({ afterBytes: 0 }).reachedAtStart).toBe(true);
    expect(new ThresholdGate({ afterBytes: 1 }).reachedAtStart).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { isGone, KubeError } from './errors.js';
import { fixture } from './fixtures/load.js';
import { decodeWatchLine, LineSplitter } from './watch.js';

const ctx = { verb: 'watch', group: '', resource: 'pods', namespace: 'ci' };

describe('LineSplitter', () => {
  it('joins lines split across chunks and splits several lines in one chunk', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('{"a":'))).toEqual([]);
    expect(s.push(Buffer.from('1}\n{"b"'))).toEqual(['{"a":1}']);
    expect(s.push(Buffer.from(':2}\n{"c":3}\n\n{"d"'))).toEqual(['{"b":2}', '{"c":3}']);
    expect(s.end()).toBe('{"d"');
    expect(s.end()).toBeUndefined();
  });

  it('keeps a multi-byte character split between chunks intact', () => {
    const bytes = Buffer.from('{"name":"ünïcode"}\n');
    const s = new LineSplitter();
    const cut = bytes.indexOf(0xbc); // second byte of "ü"
    expect(s.push(bytes.subarray(0, cut))).toEqual([]);
    expect(s.push(bytes.subarray(cut))).toEqual(['{"name":"ünïcode"}']);
  });

  it('splits every byte boundary of a stream the same way', () => {
    const text = '{"type":"ADDED","object":{}}\n{"type":"MODIFIED","object":{}}\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const s = new LineSplitter();
      const lines = [...s.push(Buffer.from(text.slice(0, cut))), ...s.push(Buffer.from(text.slice(cut)))];
      expect(lines).toEqual(['{"type":"ADDED","object":{}}', '{"type":"MODIFIED","object":{}}']);
    }
  });
});

describe('decodeWatchLine', () => {
  it('returns typed events', () => {
    expect(decodeWatchLine('{"type":"ADDED","object":{"metadata":{"name":"p"}}}', ctx)).toEqual({ type: 'ADDED', object: { metadata: { name: 'p' } } });
  });

  it('throws a GONE KubeApiError for a 410 ERROR event', () => {
    let err: unknown;
    try {
      decodeWatchLine(fixture('watch-410-expired.json'), ctx);
    } catch (e) {
      err = e;
    }
    expect(isGone(err)).toBe(true);
  });

  it.each([['not json'], ['{"type":"SURPRISE","object":{}}'], ['{"type":"ADDED"}'], ['[1]']])('rejects %s with code WATCH_DECODE', (line) => {
    expect(() => decodeWatchLine(line, ctx)).toThrow(KubeError);
    try {
      decodeWatchLine(line, ctx);
    } catch (e) {
      expect((e as KubeError).code).toBe('WATCH_DECODE');
    }
  });
});

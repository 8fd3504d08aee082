import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StampedLogLines, stampToNs } from './log-follow.js';

function collect(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { out, text: () => text };
}

async function feed(lines: StampedLogLines, ...chunks: string[]): Promise<void> {
  for (const c of chunks) await new Promise<void>((resolve, reject) => lines.write(c, (err) => (err ? reject(err) : resolve())));
}

describe('stampToNs', () => {
  it('reads kubelet times with any number of fraction digits', () => {
    expect(stampToNs('2026-12-04T14:22:58.5Z')).toBe(1796394178500000000n);
    expect(stampToNs('2026-12-04T14:22:58.500000001Z')).toBe(1796394178500000001n);
    expect(stampToNs('2026-12-04T14:22:58Z')).toBe(1796394178000000000n);
    expect(stampToNs('2026-12-04T15:22:58.5+01:00')).toBe(1796394178500000000n);
    expect(stampToNs('hello')).toBeUndefined();
  });
});

describe('StampedLogLines', () => {
  it('passes lines on without their time, across chunk boundaries, and remembers the last', async () => {
    const { out, text } = collect();
    const lines = new StampedLogLines(out, undefined);
    await feed(lines, '2026-12-04T14:22:58.1Z one\n2026-12-04T14:22:58.2Z t', 'wo\n2026-12-04T14:22:58.2Z two again\n2026-12-04T14:22:59Z unterminated');
    expect(text()).toBe('one\ntwo\ntwo again\n');
    expect(lines.position).toEqual({ ns: stampToNs('2026-12-04T14:22:58.2Z'), count: 2, stamp: '2026-12-04T14:22:58.2Z' });
    lines.finish();
    expect(text()).toBe('one\ntwo\ntwo again\nunterminated');
  });

  it('a resumed follow (whole seconds again) skips what was passed on, even lines with the same time', async () => {
    const first = collect();
    const cut = new StampedLogLines(first.out, undefined);
    await feed(cut, '2026-12-04T14:22:58.1Z a\n2026-12-04T14:22:58.2Z b\n2026-12-04T14:22:58.2Z c\n2026-12-04T14:22:58.3Z half-writ');
    const second = collect();
    const resumed = new StampedLogLines(second.out, cut.position);
    await feed(
      resumed,
      '2026-12-04T14:22:58.1Z a\n2026-12-04T14:22:58.2Z b\n2026-12-04T14:22:58.2Z c\n2026-12-04T14:22:58.2Z d\n2026-12-04T14:22:58.3Z half-written\n',
    );
    expect(first.text() + second.text()).toBe('a\nb\nc\nd\nhalf-written\n');
  });

  it('passes on a line without a time as it is', async () => {
    const { out, text } = collect();
    const lines = new StampedLogLines(out, undefined);
    await feed(lines, 'no time here\n');
    expect(text()).toBe('no time here\n');
    expect(lines.position).toBeUndefined();
  });
});

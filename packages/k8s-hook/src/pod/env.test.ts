import { describe, expect, it } from 'vitest';
import { containerEnv, literal } from './env.js';

/** What the kubelet makes of an env value, command or argument (kubernetes third_party/forked/golang/expansion). */
function kubeletExpand(text: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '$' || i + 1 >= text.length) {
      out += text[i];
    } else if (text[i + 1] === '$') {
      out += '$';
      i++;
    } else if (text[i + 1] === '(') {
      const end = text.indexOf(')', i + 2);
      if (end < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, end);
      out += env[name] ?? `$(${name})`;
      i = end;
    } else {
      out += text[i];
    }
  }
  return out;
}

const VALUES = ['$(HOME)', '$$', '$VAR', '${VAR}', 'a$', '$', 'x=y=z', 'line1\nline2', 'grüße ✓ 🚀', '$$(HOME)', '$((1+2))', '', 'plain'];

describe('literal', () => {
  it.each(VALUES)('%j reaches the container unchanged', (value) => {
    expect(kubeletExpand(literal(value), { HOME: '/root', VAR: 'v' })).toBe(value);
  });

  it('is needed: the kubelet changes these values as written', () => {
    expect(kubeletExpand('$(HOME) $$', { HOME: '/root' })).toBe('/root $');
  });
});

describe('containerEnv', () => {
  it('writes every value literally, after the CI defaults', () => {
    expect(containerEnv({ TOKEN: 'p$(HOME)w$$d', HOME: '/github/home' })).toEqual([
      { name: 'CI', value: 'true' },
      { name: 'GITHUB_ACTIONS', value: 'true' },
      { name: 'TOKEN', value: 'p$$(HOME)w$$$$d' },
      { name: 'HOME', value: '/github/home' },
    ]);
  });
});

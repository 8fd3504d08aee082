import type { Logger } from '../log.js';

/** A logger that records lines. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => undefined,
    group: async (name, fn) => {
      lines.push(`group: ${name}`);
      return fn();
    },
    mask: () => undefined,
  };
}

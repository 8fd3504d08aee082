/**
 * JSON data (objects, arrays, strings, numbers, booleans, null) as YAML for `-o yaml`. A string
 * that could read as another type or holds special characters is written double-quoted, JSON
 * style (a JSON string is a valid YAML double-quoted scalar).
 */
export function toYaml(value: unknown): string {
  return `${lines(value, 0).join('\n')}\n`;
}

const PLAIN = /^[A-Za-z_./][A-Za-z0-9 _./@+-]*$/;
const SPECIAL = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string')
    return PLAIN.test(value) && !SPECIAL.test(value) && !value.endsWith(' ') && !value.includes(': ') && !value.includes(' #') ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

function isEmpty(value: unknown): boolean {
  return Array.isArray(value) ? value.length === 0 : typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

function lines(value: unknown, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}[]`];
    return value.flatMap((item) => {
      if (typeof item === 'object' && item !== null && !isEmpty(item)) {
        const inner = lines(item, indent + 2);
        return [`${pad}- ${(inner[0] as string).trimStart()}`, ...inner.slice(1)];
      }
      return [`${pad}- ${isEmpty(item) ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)}`];
    });
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return [`${pad}{}`];
    return entries.flatMap(([k, v]) => {
      const key = scalar(k);
      if (typeof v === 'object' && v !== null && !isEmpty(v)) return [`${pad}${key}:`, ...lines(v, Array.isArray(v) ? indent : indent + 2)];
      return [`${pad}${key}: ${isEmpty(v) ? (Array.isArray(v) ? '[]' : '{}') : scalar(v)}`];
    });
  }
  return [`${pad}${scalar(value)}`];
}

import type { Setting } from './fields.js';

const cell = (text: string) => text.replace(/\|/g, '\\|');

/**
 * The markdown table of a settings schema's variables, in schema order: name, syntax, default
 * (`—` when unset means none) and meaning. Both configuration references are made of these.
 */
export function renderSettingsTable(schema: { readonly shape: Readonly<Record<string, Setting<unknown>>> }): string {
  const rows = Object.entries(schema.shape).map(([name, { doc }]) => {
    const defaultText = doc.defaultText === undefined ? '—' : `\`${doc.defaultText}\``;
    return `| \`${name}\` | ${cell(doc.syntax)} | ${cell(defaultText)} | ${cell(doc.description)} |`;
  });
  return ['| Variable | Value | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

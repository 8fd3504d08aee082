/**
 * The fault matrix as a table: request type (and the commands that make it) × fault → verdict,
 * in markdown for docs/faults.md and the test's output.
 */
import type { Verdict } from './fault-job.js';

/** A request type the job makes, and which commands make it (hook commands, or CLI commands). */
export interface RequestTypeRow {
  readonly type: string;
  readonly commands: readonly string[];
}

/** One job of the matrix. */
export interface MatrixCell {
  readonly fault: string;
  readonly type: string;
  /** The command whose requests the fault hit, when rows are per command and request type. */
  readonly command?: string;
  readonly verdict: Verdict;
  readonly detail: string;
  /** How many requests the fault hit; 0 when the job made no request of that type this time. */
  readonly hits: number;
}

const SHORT: Record<Verdict, string> = {
  completed: 'completed',
  'failed clearly': 'failed clearly',
  'failed unclearly': '**failed unclearly**',
  leaked: '**leaked**',
};

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The markdown table, with a numbered note for every cell that did not complete; `unit` names what a cell ran. */
export function faultTable(rows: readonly RequestTypeRow[], faults: readonly string[], cells: readonly MatrixCell[], unit = 'jobs'): string {
  const notes: string[] = [];
  const lines = [`| Request type | Made by | ${faults.join(' | ')} |`, `| --- | --- | ${faults.map(() => '---').join(' | ')} |`];
  for (const row of rows) {
    const verdicts = faults.map((fault) => {
      const cell = cells.find((c) => c.fault === fault && c.type === row.type && (c.command === undefined || row.commands.includes(c.command)));
      if (!cell) return 'not run';
      let text = SHORT[cell.verdict];
      if (cell.hits === 0) text += ' (not hit)';
      if (cell.detail) {
        notes.push(`${notes.length + 1}. ${fault} on \`${row.type}\`${cell.command ? ` of ${cell.command}` : ''}: ${escapeCell(cell.detail)}`);
        text += ` [${notes.length}]`;
      }
      return text;
    });
    lines.push(`| \`${row.type}\` | ${row.commands.join(', ')} | ${verdicts.join(' | ')} |`);
  }
  const count = (v: Verdict) => cells.filter((c) => c.verdict === v).length;
  const totals = `${cells.length} ${unit}: ${count('completed')} completed, ${count('failed clearly')} failed clearly, ${count('failed unclearly')} failed unclearly, ${count('leaked')} leaked.`;
  return [...lines, '', totals, ...(notes.length ? ['', ...notes] : [])].join('\n');
}

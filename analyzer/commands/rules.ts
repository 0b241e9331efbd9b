/**
 * `eks-node-diag rules`: the catalog, straight from each rule's metadata: a terminal list, JSON for scripts, or the
 * Markdown page kept in the repository as docs/rules.md (`npm run docs` regenerates it; a test fails when it is stale).
 */
import { bundlePaths } from '../../contract/bundle.ts';
import type { Requirement, Rule } from '../engine/rule.ts';
import { rules } from '../rules/index.ts';

function neededPaths(need: Requirement): string[] {
  return typeof need === 'string' ? [bundlePaths[need]] : need.anyOf.map((id) => bundlePaths[id]);
}

function sorted(catalog: readonly Rule[]): Rule[] {
  return [...catalog].sort((a, b) => a.meta.id.localeCompare(b.meta.id));
}

export function listRules(options: { json?: boolean; markdown?: boolean }): string {
  if (options.markdown) return renderRulesMarkdown();
  const entries = sorted(rules).map(({ meta }) => ({
    id: meta.id,
    title: meta.title,
    severity: meta.severity,
    description: meta.description,
    needs: meta.needs.map((need) => neededPaths(need).join(' | ')),
    uses: (meta.uses ?? []).map((id) => bundlePaths[id]),
    references: meta.references,
  }));
  if (options.json) return `${JSON.stringify(entries, null, 2)}\n`;
  const width = Math.max(...entries.map((entry) => entry.id.length));
  return `${entries
    .map(
      (entry) =>
        `${entry.id.padEnd(width)}  ${entry.severity.padEnd(8)}  ${entry.title}\n${' '.repeat(width + 12)}needs: ${entry.needs.join(', ')}`,
    )
    .join('\n')}\n`;
}

/**
 * Text from rule metadata as Markdown prose: code spans (commands, paths) stay as written; outside them, characters
 * Markdown would read as markup (`<`, `*`, `_` at word edges, `[`) are escaped so a message reads as it was written.
 */
export function markdownText(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part
            .replace(/\\/g, '\\\\')
            .replace(/([*[\]])/g, '\\$1')
            .replace(/(^|\W)_|_(?=\W|$)/g, (match) => match.replace('_', '\\_'))
            .replace(/</g, '&lt;')
            .replace(/>/g, '&gt;'),
    )
    .join('');
}

/** A URL safe inside `(...)` of a Markdown link: parentheses and spaces percent-encoded. */
function markdownUrl(url: string): string {
  return url.replace(/[()\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function tableCell(text: string): string {
  return markdownText(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A table with its columns padded to equal width, as the repository's formatter (Biome) lays Markdown tables out. */
function markdownTable(header: string[], rows: string[][]): string[] {
  const width = (text: string) => [...text].length;
  const widths = header.map((title, column) =>
    Math.max(3, width(title), ...rows.map((row) => width(row[column] ?? ''))),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell + ' '.repeat((widths[column] ?? 0) - width(cell))).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

const GENERATED_NOTE =
  "<!-- Generated from the rules' metadata by `eks-node-diag rules --md` (`npm run docs`). Edit the rules, not this file. -->";

/** The catalog as the Markdown page docs/rules.md: an index table, then one section per rule. */
export function renderRulesMarkdown(catalog: readonly Rule[] = rules): string {
  const list = sorted(catalog);
  const out: string[] = [
    GENERATED_NOTE,
    '',
    '# Rule catalog',
    '',
    `eks-node-diag judges a node bundle with ${list.length} rules. Each ends in one verdict: **fail** (a finding, with the`,
    'evidence lines), **pass** (with the observed values that show the node is fine) or **not evaluated** (an input the',
    'rule needs is missing, failed to collect or was cut short, with the reason). A bundle without a rule’s inputs never',
    'passes it.',
    '',
    'Severity is that of a failure: **critical**, pod networking on the node is down or will be; **warning**, degraded',
    'or at risk; **info**, worth knowing. Inputs are canonical bundle paths, those of `eks-log-collector.sh` where it',
    'collects the same thing.',
    '',
    ...markdownTable(
      ['Rule', 'Severity', 'Checks'],
      list.map(({ meta }) => [`[\`${meta.id}\`](#${meta.id})`, meta.severity, tableCell(meta.title)]),
    ),
  ];
  for (const { meta } of list) {
    out.push('', `## \`${meta.id}\``, '', `**${markdownText(meta.title)}** · severity **${meta.severity}**`);
    out.push('', markdownText(meta.description), '', '**Reads**', '');
    for (const need of meta.needs) {
      const paths = neededPaths(need).map((path) => `\`${path}\``);
      out.push(paths.length === 1 ? `- needs ${paths[0]}` : `- needs any one of ${paths.join(', ')}`);
    }
    const uses = (meta.uses ?? []).map((id) => `\`${bundlePaths[id]}\``);
    if (uses.length > 0) out.push(`- uses when present ${uses.join(', ')}`);
    if (meta.remediation.length > 0) {
      out.push('', '**What to do**', '');
      meta.remediation.forEach((step, index) => {
        out.push(`${index + 1}. ${markdownText(step)}`);
      });
    }
    if (meta.references.length > 0) {
      out.push('', '**References**', '');
      for (const reference of meta.references) {
        out.push(`- [${markdownText(reference.title)}](${markdownUrl(reference.url)})`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/**
 * The report as Markdown for a ticket comment (CommonMark with GitHub tables): what failed, the evidence, what to do,
 * then short lists of passes, not-evaluated rules and bundle errors.
 *
 * Bundle text outside code is backslash-escaped so it cannot become a link, an image, HTML or emphasis; inside code
 * spans and fenced blocks the delimiters are made longer than any backtick run in the content, so it cannot close
 * them. In both, control characters are shown as escapes (`\x1b`) and over-long lines are cut.
 */
import type { Evidence, FindingTable, Report, RuleResult, Severity } from './model.ts';
import {
  clip,
  formatCount,
  formatTime,
  isWebUrl,
  noFailureMessage,
  plural,
  splitCode,
  splitStep,
  type TextSegment,
  visibleControls,
} from './text.ts';

/** Evidence lines longer than this are cut: a ticket comment has a size limit (GitHub's is 65,536 characters). */
export const MARKDOWN_MAX_LINE = 1_000;
/** Prose fields (summaries, reasons, messages) are cut here: they are one or two sentences when well-formed. */
const MAX_PROSE = 2_000;

const SEVERITY_LABEL: Record<Severity, string> = { critical: 'CRITICAL', warning: 'WARNING', info: 'INFO' };

const LAYOUT_LABEL: Record<Report['bundle']['layout'], string> = {
  'eks-node-diag': 'eks-node-diag agent bundle',
  'eks-log-collector': 'AWS eks-log-collector.sh bundle',
  'aws-cni-support-legacy': 'legacy aws-cni-support.sh bundle',
  unknown: 'unrecognised layout',
};

/**
 * Escapes text for Markdown outside code: every character that can open emphasis, a link, an image, raw HTML, an
 * entity, a table cell or strikethrough gets a backslash, and so does a block marker at the start. `://` and `www.`
 * are broken up so GitHub does not turn bundle text into a link.
 */
export function escapeMarkdown(text: string): string {
  return visibleControls(text)
    .replace(/[\\`*_[\]<>|~&]/g, '\\$&')
    .replace(/^(\s*)([#+=-])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2')
    .replace(/:\/\//g, '\\://')
    .replace(/\bwww\./gi, (match) => `${match.slice(0, 3)}\\.`);
}

function longestBacktickRun(text: string): number {
  let longest = 0;
  for (const match of text.matchAll(/`+/g)) longest = Math.max(longest, match[0].length);
  return longest;
}

/** A code span that survives any backticks in `text` (CommonMark: the delimiter must differ from every run inside). */
export function codeSpan(text: string): string {
  const content = visibleControls(text);
  const fence = '`'.repeat(longestBacktickRun(content) + 1);
  const pad = content.startsWith('`') || content.endsWith('`') || /^ .* $/.test(content) ? ' ' : '';
  return `${fence}${pad}${content}${pad}${fence}`;
}

/** A fenced block whose fence is longer than any backtick run in its lines, so no line can close it early. */
export function fencedBlock(lines: string[], info = '', indent = ''): string {
  const fence = '`'.repeat(Math.max(3, ...lines.map((line) => longestBacktickRun(line) + 1)));
  return [`${fence}${info}`, ...lines, fence].map((line) => `${indent}${line}`).join('\n');
}

/** Escaped prose, cut at `MAX_PROSE`. Not trimmed: it may sit between code spans. */
function escapedPart(text: string): string {
  const { text: kept, omitted } = clip(text, MAX_PROSE);
  return escapeMarkdown(kept) + (omitted > 0 ? ` … (${plural(omitted, 'more character')})` : '');
}

function prose(text: string): string {
  return escapedPart(text.trim());
}

function inline(segments: TextSegment[]): string {
  return segments
    .map((segment) => (segment.code ? codeSpan(clip(segment.text, MAX_PROSE).text) : escapedPart(segment.text)))
    .join('');
}

function inlineText(text: string): string {
  return inline(splitCode(text.trim()));
}

function location(path: string, line?: number): string {
  return codeSpan(line === undefined ? path : `${path}:${line}`);
}

/** One line of evidence: `> path:line  text`, `>` marking the lines the finding is about. */
function evidenceLines(evidence: Evidence[]): string[] {
  const marked = evidence.some((item) => item.highlight) && evidence.some((item) => !item.highlight);
  const lines: string[] = [];
  let previous: Evidence | undefined;
  for (const item of evidence) {
    if (
      previous?.path === item.path &&
      previous.line !== undefined &&
      item.line !== undefined &&
      item.line > previous.line + 1
    ) {
      lines.push(`${marked ? '  ' : ''}⋮ ${plural(item.line - previous.line - 1, 'line')} not shown`);
    }
    const { text, omitted } = clip(item.text, MARKDOWN_MAX_LINE);
    const marker = marked ? (item.highlight ? '> ' : '  ') : '';
    const where = item.line === undefined ? item.path : `${item.path}:${item.line}`;
    const absent = item.line === undefined && item.note !== undefined && /^absent\b/i.test(item.note);
    const note = absent ? item.note?.replace(/^absent\b\s*:?\s*/i, '') : item.note;
    lines.push(visibleControls(`${marker}${where}${absent ? ' (absent)' : ''}  ${text}`));
    if (omitted > 0) lines.push(`${marked ? '  ' : ''}  … ${plural(omitted, 'more character')} not shown`);
    if (note) lines.push(visibleControls(`${marked ? '  ' : ''}  ↳ ${note}`));
    previous = item;
  }
  return lines;
}

function evidenceSection(evidence: Evidence[]): string[] {
  if (evidence.length === 0) return [];
  const marked = evidence.some((item) => item.highlight) && evidence.some((item) => !item.highlight);
  const heading = marked ? '**Evidence** (lines marked `>` are the ones this finding is about)' : '**Evidence**';
  return [heading, '', fencedBlock(evidenceLines(evidence), 'text'), ''];
}

const NUMERIC_CELL = /^[-+]?\d[\d,.]*\s?(?:%|[KMGT]i?B|B|ms|s)?$/;

function tableCell(text: string): string {
  const { text: kept, omitted } = clip(text, MARKDOWN_MAX_LINE);
  return escapeMarkdown(kept) + (omitted > 0 ? ' …' : '') || ' ';
}

function tableSection(table: FindingTable): string[] {
  const width = Math.max(table.columns.length, ...table.rows.map((row) => row.length), 1);
  const rows = table.rows.map((row) => Array.from({ length: width }, (_, index) => row[index] ?? ''));
  const numeric = Array.from(
    { length: width },
    (_, index) => rows.length > 0 && rows.every((row) => row[index] === '' || NUMERIC_CELL.test(row[index] ?? '')),
  );
  const header = Array.from({ length: width }, (_, index) => tableCell(table.columns[index] ?? ''));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    `*${prose(table.caption)}*`,
    '',
    line(header),
    line(numeric.map((isNumeric) => (isNumeric ? '---:' : '---'))),
    ...rows.map((row) => line(row.map(tableCell))),
    '',
  ];
}

function stepsSection(steps: string[]): string[] {
  if (steps.length === 0) return [];
  const lines = ['**What to do**', ''];
  steps.forEach((step, index) => {
    const marker = `${index + 1}. `;
    const { lead, command } = splitStep(step);
    lines.push(`${marker}${lead.length > 0 ? inline(lead) : 'Run:'}`.trimEnd());
    if (command !== undefined) {
      lines.push('', fencedBlock([visibleControls(command)], 'sh', ' '.repeat(marker.length)), '');
    }
  });
  return [...lines, ''];
}

function referenceLine(title: string, url: string): string {
  if (isWebUrl(url)) return `- [${prose(title)}](<${new URL(url).href}>)`;
  return `- ${prose(title)} (${codeSpan(url)})`;
}

function failSection(rule: RuleResult): string[] {
  const lines = [`### ${SEVERITY_LABEL[rule.severity] ?? 'FAIL'} ${codeSpan(rule.id)}: ${prose(rule.title)}`, ''];
  lines.push(inlineText(rule.summary), '');
  for (const fact of rule.facts) {
    const where = fact.path === undefined ? '' : ` (${location(fact.path, fact.line)})`;
    lines.push(`- ${prose(fact.label)}: **${prose(fact.value)}**${where}`);
  }
  if (rule.facts.length > 0) lines.push('');
  lines.push(...evidenceSection(rule.evidence));
  for (const table of rule.tables) lines.push(...tableSection(table));
  if (rule.caveats.length > 0) {
    lines.push('*About the evidence:*', '', ...rule.caveats.map((caveat) => `- ${inlineText(caveat)}`), '');
  }
  if (rule.rationale !== undefined) lines.push(`**Why it matters:** ${inlineText(rule.rationale)}`, '');
  lines.push(...stepsSection(rule.remediation));
  if (rule.references.length > 0) {
    lines.push('**References**', '', ...rule.references.map((ref) => referenceLine(ref.title, ref.url)), '');
  }
  return lines;
}

function passLine(rule: RuleResult): string {
  const seen = rule.evidence[0];
  const where = seen === undefined ? '' : ` (${location(seen.path, seen.line)})`;
  return `- ${codeSpan(rule.id)} ${prose(rule.title)}: ${inlineText(rule.summary)}${where}`;
}

function notEvaluatedLine(rule: RuleResult): string {
  return `- ${codeSpan(rule.id)} ${prose(rule.title)}: ${inlineText(rule.reason ?? rule.summary)}`;
}

function headerLines(report: Report): string[] {
  const { node } = report.bundle;
  const name = node.hostname ?? node.instanceId ?? report.bundle.source;
  const id = node.hostname !== undefined && node.instanceId !== undefined ? ` (${codeSpan(node.instanceId)})` : '';
  const { summary } = report;
  const counts = [
    `${formatCount(summary.critical)} critical`,
    `${formatCount(summary.warning)} warning`,
    `${formatCount(summary.info)} info`,
    `${formatCount(summary.passed)} passed`,
    `${formatCount(summary.notEvaluated)} not evaluated`,
  ].join(' · ');
  const identity = [
    node.instanceType,
    node.availabilityZone ?? node.region,
    node.os,
    node.kubeletVersion && `kubelet ${node.kubeletVersion}`,
    node.vpcCniVersion && `VPC CNI ${node.vpcCniVersion}`,
  ].filter((part): part is string => Boolean(part));
  const lines = [`## eks-node-diag: ${prose(name)}${id}`, '', `**${counts}** (${plural(summary.rules, 'rule')})`];
  if (identity.length > 0) lines.push('', `Node: ${identity.map(prose).join(' · ')}`);
  lines.push(
    '',
    `Bundle ${codeSpan(report.bundle.source)} (${LAYOUT_LABEL[report.bundle.layout] ?? 'unrecognised layout'}), ` +
      `analyzed ${prose(formatTime(report.generatedAt))} by ${prose(`${report.tool.name} ${report.tool.version}`)}.`,
    '',
  );
  if (report.bundle.collector?.interrupted) {
    lines.push('> **Collection was interrupted:** items missing from the bundle were never collected.', '');
  }
  if (report.bundle.errors.length > 0) {
    lines.push(`> **The bundle has ${plural(report.bundle.errors.length, 'problem')};** see Bundle errors below.`, '');
  }
  return lines;
}

export function renderMarkdown(report: Report): string {
  const fails = report.rules.filter((rule) => rule.verdict === 'fail');
  const passes = report.rules.filter((rule) => rule.verdict === 'pass');
  const notEvaluated = report.rules.filter((rule) => rule.verdict === 'not-evaluated');
  const lines = headerLines(report);
  if (fails.length === 0) lines.push(noFailureMessage(passes.length, notEvaluated.length).text, '');
  for (const rule of fails) lines.push(...failSection(rule));
  if (passes.length > 0) lines.push(`### Passed (${formatCount(passes.length)})`, '', ...passes.map(passLine), '');
  if (notEvaluated.length > 0) {
    lines.push(
      `### Not evaluated (${formatCount(notEvaluated.length)})`,
      '',
      ...notEvaluated.map(notEvaluatedLine),
      '',
    );
  }
  if (report.bundle.errors.length > 0) {
    lines.push(`### Bundle errors (${formatCount(report.bundle.errors.length)})`, '');
    for (const error of report.bundle.errors) {
      const member = error.member === undefined ? '' : ` in ${codeSpan(error.member)}`;
      lines.push(`- ${codeSpan(error.code)}${member}: ${prose(error.message)}`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

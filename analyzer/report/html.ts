/**
 * The self-contained HTML report: one file with inline CSS and SVG, no script and no request of any kind, so it can
 * be attached to a ticket and opened anywhere. The Content-Security-Policy pins the stylesheet by its hash and allows
 * nothing else, so even markup that slipped through escaping could neither run nor load anything.
 *
 * The report is first turned into a view (plain strings, numbers and booleans, already grouped and formatted), then
 * rendered by a logic-less template that only uses `{{ }}`, which escapes. The one `{{{ }}}` is our own stylesheet.
 */
import { createHash } from 'node:crypto';
import Handlebars from 'handlebars';
import evidencePartial from '../../templates/evidence.hbs?raw';
import factsPartial from '../../templates/facts.hbs?raw';
import inlinePartial from '../../templates/inline.hbs?raw';
import reportCss from '../../templates/report.css?raw';
import reportTemplate from '../../templates/report.html.hbs?raw';
import shownPartial from '../../templates/shown.hbs?raw';
import tablesPartial from '../../templates/tables.hbs?raw';
import type { Evidence, Fact, FindingTable, InventoryEntry, Report, RuleResult, Severity } from './model.ts';
import {
  clip,
  formatBytes,
  formatCount,
  formatDuration,
  formatTime,
  isWebUrl,
  noFailureMessage,
  plural,
  type ShownPart,
  splitCode,
  splitStep,
  type TextSegment,
  visibleControlParts,
  visibleControls,
} from './text.ts';

/** Evidence lines longer than this are cut in the HTML; a browser would otherwise lay out pages of one line. */
export const HTML_MAX_LINE = 2_000;

type Tone = 'crit' | 'warn' | 'info' | 'pass' | 'ne';

const SEVERITY_TONE: Record<Severity, Tone> = { critical: 'crit', warning: 'warn', info: 'info' };
const SEVERITY_LABEL: Record<Severity, string> = { critical: 'Critical', warning: 'Warning', info: 'Info' };

const LAYOUT_LABEL: Record<Report['bundle']['layout'], string> = {
  'eks-node-diag': 'eks-node-diag agent bundle',
  'eks-log-collector': 'AWS eks-log-collector.sh bundle',
  'aws-cni-support-legacy': 'legacy aws-cni-support.sh bundle',
  unknown: 'unrecognised layout',
};

const STATE_TONE: Record<InventoryEntry['state'], Tone> = {
  read: 'pass',
  truncated: 'warn',
  skipped: 'crit',
  'not-parsed': 'ne',
};

const COLLECTED_TONE: Record<NonNullable<InventoryEntry['collectedStatus']>, Tone> = {
  ok: 'pass',
  truncated: 'warn',
  timeout: 'warn',
  error: 'crit',
  skipped: 'ne',
};

/** Bundle text as shown: control characters made visible. */
function shown(text: string): string {
  return visibleControls(text);
}

function segments(text: string): TextSegment[] {
  return splitCode(text).map((segment) => ({ ...segment, text: shown(segment.text) }));
}

function where(path: string | undefined, line: number | undefined): string | undefined {
  if (path === undefined) return undefined;
  return shown(line === undefined ? path : `${path}:${line}`);
}

/** `line 4`, `lines 2–5`, `lines 84117–84119, 86402 and 86405`. */
export function lineRanges(lines: number[]): string {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const ranges: string[] = [];
  let start = sorted[0];
  let previous = start;
  for (const line of [...sorted.slice(1), Number.NaN]) {
    if (start === undefined || previous === undefined) break;
    if (line === previous + 1) {
      previous = line;
      continue;
    }
    ranges.push(start === previous ? String(start) : `${start}–${previous}`);
    start = line;
    previous = line;
  }
  if (ranges.length === 0) return '';
  const label = sorted.length === 1 ? 'line' : 'lines';
  if (ranges.length === 1) return `${label} ${ranges[0]}`;
  return `${label} ${ranges.slice(0, -1).join(', ')} and ${ranges.at(-1)}`;
}

interface EvidenceRow {
  gap?: boolean;
  absent?: boolean;
  number?: string;
  /** The line with each control character shown as an escape part (`\x1b`), styled apart from the text. */
  parts?: ShownPart[];
  text?: string;
  omitted?: string;
  hit?: boolean;
  time?: string;
  note?: string;
}

interface EvidenceBlock {
  path: string;
  where: string;
  rows: EvidenceRow[];
  /** Short excerpts are kept on one printed page; longer ones may break between lines. */
  short: boolean;
}

/** About how many characters of evidence fit on one printed line (A4, 7.4 pt monospace). */
const PRINT_LINE_CHARS = 110;
/** Excerpts up to this many printed lines are kept whole on a page; moving more would leave a large blank. */
const SHORT_EXCERPT_LINES = 10;

function printedLines(rows: EvidenceRow[]): number {
  return rows.reduce((sum, row) => {
    const length = (row.parts ?? []).reduce((total, part) => total + part.text.length, 0);
    return sum + Math.max(1, Math.ceil(length / PRINT_LINE_CHARS)) + (row.note || row.omitted ? 1 : 0);
  }, 0);
}

function evidenceRow(item: Evidence): EvidenceRow {
  const { text, omitted } = clip(item.text, HTML_MAX_LINE);
  const note = item.note === undefined ? undefined : shown(item.note);
  if (item.line === undefined && note !== undefined && /^absent\b/i.test(note)) {
    return {
      absent: true,
      parts: visibleControlParts(text),
      note: note.replace(/^absent\b\s*:?\s*/i, '') || undefined,
    };
  }
  return {
    number: item.line === undefined ? '–' : String(item.line),
    parts: visibleControlParts(text),
    omitted: omitted > 0 ? `… ${plural(omitted, 'more character')} not shown` : undefined,
    hit: item.highlight === true,
    time: item.time === undefined ? undefined : shown(item.time),
    note,
  };
}

/** Consecutive evidence from one file becomes one excerpt, with a gap row wherever line numbers jump. */
function evidenceBlocks(evidence: Evidence[]): EvidenceBlock[] {
  const groups: Evidence[][] = [];
  for (const item of evidence) {
    const current = groups.at(-1);
    if (current?.[0]?.path === item.path) current.push(item);
    else groups.push([item]);
  }
  return groups.map((items) => {
    const rows: EvidenceRow[] = [];
    let previousLine: number | undefined;
    for (const item of items) {
      if (previousLine !== undefined && item.line !== undefined && item.line > previousLine + 1) {
        const hidden = item.line - previousLine - 1;
        rows.push({ gap: true, text: `${plural(hidden, 'line')} not shown` });
      }
      rows.push(evidenceRow(item));
      if (item.line !== undefined) previousLine = item.line;
    }
    const numbered = items.flatMap((item) => (item.line === undefined ? [] : [item.line]));
    return {
      path: shown(items[0]?.path ?? ''),
      where: lineRanges(numbered),
      rows,
      short: printedLines(rows) <= SHORT_EXCERPT_LINES,
    };
  });
}

function factViews(facts: Fact[]) {
  return facts.map((fact) => ({
    label: shown(fact.label),
    value: shown(fact.value),
    where: where(fact.path, fact.line),
  }));
}

const NUMERIC_CELL = /^[-+]?\d[\d,.]*\s?(?:%|[KMGT]i?B|B|ms|s)?$/;

function tableViews(tables: FindingTable[]) {
  return tables.map((table) => {
    const width = Math.max(table.columns.length, ...table.rows.map((row) => row.length));
    const columnNames = Array.from({ length: width }, (_, index) => table.columns[index] ?? '');
    const rows = table.rows.map((row) => columnNames.map((_, index) => row[index] ?? ''));
    const numeric = columnNames.map(
      (_, index) => rows.length > 0 && rows.every((row) => row[index] === '' || NUMERIC_CELL.test(row[index] ?? '')),
    );
    return {
      caption: shown(table.caption),
      columns: columnNames.map((name, index) => ({ name: shown(name), numeric: numeric[index] })),
      rows: rows.map((row) => row.map((cell, index) => ({ text: shown(cell), numeric: numeric[index] }))),
    };
  });
}

function anchorFor(id: string, used: Set<string>): string {
  const base = `rule-${id.toLowerCase().replace(/[^a-z0-9_-]+/g, '-')}`;
  let anchor = base;
  for (let n = 2; used.has(anchor); n++) anchor = `${base}-${n}`;
  used.add(anchor);
  return anchor;
}

function ruleView(rule: RuleResult, anchor: string) {
  const tone: Tone = rule.verdict === 'fail' ? SEVERITY_TONE[rule.severity] : rule.verdict === 'pass' ? 'pass' : 'ne';
  return {
    id: shown(rule.id),
    anchor,
    cls: tone,
    severityLabel: SEVERITY_LABEL[rule.severity] ?? shown(String(rule.severity)),
    title: shown(rule.title),
    messageId: rule.messageId === undefined ? undefined : shown(rule.messageId),
    summary: segments(rule.summary),
    rationale: rule.rationale === undefined ? undefined : segments(rule.rationale),
    reason: segments(rule.reason ?? 'No reason was recorded.'),
    facts: factViews(rule.facts),
    evidence: evidenceBlocks(rule.evidence),
    tables: tableViews(rule.tables),
    steps: rule.remediation.map((step) => {
      const { lead, command } = splitStep(step);
      return {
        lead: lead.map((segment) => ({ ...segment, text: shown(segment.text) })),
        command: command && shown(command),
      };
    }),
    caveats: rule.caveats.map(segments),
    references: rule.references.map((reference) => ({
      title: shown(reference.title),
      url: shown(reference.url),
      linked: isWebUrl(reference.url),
    })),
    inputs: rule.inputs.map(shown),
  };
}

function nodeRows(report: Report) {
  const { node, collector } = report.bundle;
  const rows: { label: string; value: string; mono?: boolean }[] = [];
  const add = (label: string, value: string | undefined, mono = false) => {
    if (value !== undefined && value !== '') rows.push({ label, value: shown(value), mono });
  };
  const joined = (...parts: (string | undefined)[]) => parts.filter((part) => part).join(' · ') || undefined;
  add('Instance', node.instanceId, true);
  add('Hostname', node.hostname, true);
  add('Type · Zone', joined(node.instanceType, node.availabilityZone ?? node.region));
  add('CPUs', node.cpuCount === undefined ? undefined : String(node.cpuCount));
  add('OS', joined(node.os, node.architecture));
  add('Kernel', node.kernel, true);
  add('AMI', node.amiId, true);
  add('kubelet', node.kubeletVersion, true);
  add('containerd', node.containerdVersion, true);
  add('VPC CNI', node.vpcCniVersion, true);
  if (rows.length === 0) rows.push({ label: 'Identity', value: 'not found in the bundle' });
  add('Bundle', report.bundle.source, true);
  add('Layout', LAYOUT_LABEL[report.bundle.layout] ?? shown(String(report.bundle.layout)));
  if (collector) {
    add(
      'Collected',
      joined(
        collector.createdAt && formatTime(collector.createdAt),
        `${collector.name} ${collector.version}`,
        collector.interrupted ? 'interrupted' : undefined,
      ),
    );
  }
  add(
    'Analyzed',
    joined(
      formatTime(report.generatedAt),
      `${report.tool.name} ${report.tool.version}`,
      `${formatBytes(report.bundle.bytesRead)} in ${formatDuration(report.bundle.durationMs)}`,
    ),
  );
  return rows;
}

function inventoryView(report: Report) {
  const entries = report.bundle.inventory;
  const byState = new Map<string, number>();
  for (const entry of entries) byState.set(entry.state, (byState.get(entry.state) ?? 0) + 1);
  const totalBytes = entries.reduce((sum, entry) => sum + (Number.isFinite(entry.bytes) ? entry.bytes : 0), 0);
  const stateParts = [...byState].map(([state, count]) => `${formatCount(count)} ${state.replace('-', ' ')}`);
  const line = [plural(entries.length, 'file'), formatBytes(totalBytes), ...stateParts].join(' · ');
  const rows = entries.map((entry) => {
    const collectedTone = entry.collectedStatus ? COLLECTED_TONE[entry.collectedStatus] : undefined;
    const stateTone = STATE_TONE[entry.state] ?? 'ne';
    const bad = entry.state !== 'read' || (collectedTone !== undefined && collectedTone !== 'pass');
    const notes: string[] = [];
    if (entry.unparsedLines) notes.push(`${plural(entry.unparsedLines, 'line')} not understood by the parser`);
    if (entry.longLines) notes.push(`${plural(entry.longLines, 'over-long line')} cut`);
    const tones = [stateTone, collectedTone];
    const worst = tones.includes('crit') ? 'crit' : tones.includes('warn') ? 'warn' : 'ne';
    return {
      path: shown(entry.path),
      member: entry.member !== undefined && entry.member !== entry.path ? shown(entry.member) : undefined,
      itemId: entry.itemId === undefined ? undefined : shown(entry.itemId),
      bytes: formatBytes(entry.bytes),
      bytesExact: `${formatCount(entry.bytes)} bytes`,
      lines: entry.lines === undefined ? '—' : formatCount(entry.lines),
      state: shown(entry.state.replace('-', ' ')),
      stateCls: stateTone,
      collected: entry.collectedStatus === undefined ? undefined : shown(entry.collectedStatus),
      collectedCls: collectedTone ?? 'ne',
      collectedReason: entry.collectedReason === undefined ? undefined : shown(entry.collectedReason),
      notes,
      bad,
      cls: worst,
    };
  });
  return { line, rows };
}

function alerts(report: Report) {
  const list: { cls: Tone; lead: string; text: string }[] = [];
  const errors = report.bundle.errors.length;
  if (errors > 0) {
    list.push({
      cls: 'warn',
      lead: `The bundle has ${plural(errors, 'problem')}.`,
      text: 'Files it could not read are listed under Bundle errors; everything else was analyzed.',
    });
  }
  if (report.bundle.collector?.interrupted) {
    list.push({
      cls: 'warn',
      lead: 'Collection was interrupted.',
      text: 'Items missing from the bundle were never collected; rules that needed them are not evaluated.',
    });
  }
  if (report.bundle.layout === 'unknown') {
    list.push({
      cls: 'ne',
      lead: 'Bundle layout not recognised.',
      text: 'Only files found at known paths were analyzed.',
    });
  }
  return list;
}

export function buildView(report: Report) {
  const used = new Set<string>();
  const views = report.rules.map((rule) => ({ rule, view: ruleView(rule, anchorFor(rule.id, used)) }));
  const fails = views.filter(({ rule }) => rule.verdict === 'fail').map(({ view }) => view);
  const passes = views.filter(({ rule }) => rule.verdict === 'pass').map(({ view }) => view);
  const notEvaluated = views.filter(({ rule }) => rule.verdict === 'not-evaluated').map(({ view }) => view);
  const { summary } = report;
  const firstFail = (severity: Severity) => {
    const index = report.rules.findIndex((rule) => rule.verdict === 'fail' && rule.severity === severity);
    return index < 0 ? undefined : `#${views[index]?.view.anchor}`;
  };
  const tally = [
    { key: 'critical', cls: 'crit', label: 'Critical', count: summary.critical, href: firstFail('critical') },
    { key: 'warning', cls: 'warn', label: 'Warning', count: summary.warning, href: firstFail('warning') },
    { key: 'info', cls: 'info', label: 'Info', count: summary.info, href: firstFail('info') },
    {
      key: 'passed',
      cls: 'pass',
      label: 'Passed',
      count: summary.passed,
      href: summary.passed ? '#passed' : undefined,
    },
    {
      key: 'notEvaluated',
      cls: 'ne',
      label: 'Not evaluated',
      count: summary.notEvaluated,
      href: summary.notEvaluated ? '#not-evaluated' : undefined,
    },
  ].map((entry) => ({ ...entry, count: Number.isFinite(entry.count) ? entry.count : 0 }));
  const total = tally.reduce((sum, entry) => sum + Math.max(0, entry.count), 0);
  let x = 0;
  const bar = tally
    .filter((entry) => entry.count > 0 && total > 0)
    .map((entry) => {
      const width = (entry.count / total) * 100;
      const rect = { cls: entry.cls, x: x.toFixed(3), width: width.toFixed(3), title: `${entry.count} ${entry.label}` };
      x += width;
      return rect;
    });
  const failed = summary.critical + summary.warning + summary.info;
  const verdictLine = [
    plural(summary.rules, 'rule'),
    `${formatCount(failed)} failed`,
    `${formatCount(summary.passed)} passed`,
    `${formatCount(summary.notEvaluated)} not evaluated`,
  ].join(' · ');
  const name = report.bundle.node.hostname ?? report.bundle.node.instanceId ?? report.bundle.source;
  const sub = report.bundle.node.hostname !== undefined ? report.bundle.node.instanceId : undefined;
  const severityCounts = tally
    .slice(0, 3)
    .filter((entry) => entry.count > 0)
    .map((entry) => `${entry.count} ${entry.label.toLowerCase()}`);
  const title = [
    'eks-node-diag',
    shown(name),
    severityCounts.length > 0 ? severityCounts.join(', ') : 'no findings',
    formatTime(report.generatedAt),
  ].join(' · ');
  const inventory = inventoryView(report);
  const footer = [
    { label: 'Tool', value: `${report.tool.name} ${report.tool.version} · report schema ${report.schema}` },
    { label: 'Bundle', value: `${report.bundle.source} (${LAYOUT_LABEL[report.bundle.layout] ?? 'unknown layout'})` },
    { label: 'Generated', value: formatTime(report.generatedAt) },
    { label: 'Re-run with', value: `eks-node-diag analyze ${report.bundle.source}`, code: true },
  ].map((entry) => ({ ...entry, value: shown(entry.value) }));
  return {
    title,
    generator: shown(`${report.tool.name} ${report.tool.version}`),
    heading: { name: shown(name), sub: sub === undefined ? undefined : shown(sub) },
    verdictLine,
    tally,
    bar,
    alerts: alerts(report),
    counts: {
      fails: fails.length,
      passes: passes.length,
      notEvaluated: notEvaluated.length,
      files: report.bundle.inventory.length,
      failsLine: plural(fails.length, 'failed rule'),
      passesLine: plural(passes.length, 'rule'),
      notEvaluatedLine: plural(notEvaluated.length, 'rule'),
    },
    fails,
    passes,
    notEvaluated,
    noFailure: (({ healthy, text }) => ({ cls: healthy ? 'pass' : 'ne', text }))(
      noFailureMessage(passes.length, notEvaluated.length),
    ),
    node: nodeRows(report),
    inventory,
    errors: report.bundle.errors.map((error) => ({
      code: shown(error.code),
      member: error.member === undefined ? undefined : shown(error.member),
      message: shown(error.message),
    })),
    footer,
    maxLineLabel: formatCount(HTML_MAX_LINE),
  };
}

/** The policy allows our one stylesheet (by hash) and nothing else: no script, image, font, frame or fetch. */
export function contentSecurityPolicy(css: string): string {
  const hash = createHash('sha256').update(css, 'utf8').digest('base64');
  return `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`;
}

let compiled: ((view: ReturnType<typeof buildView> & { css: string; csp: string }) => string) | undefined;

function template() {
  if (compiled) return compiled;
  if (reportCss.trim() === '') {
    // vitest replaces `.css` imports with '' unless `test.css.include` matches them; a report without its
    // stylesheet would still render, so fail loudly instead.
    throw new Error('templates/report.css was loaded empty: load it as text (vitest: test.css.include must match it)');
  }
  // A private instance, so our partials never leak into (or get replaced by) other users of Handlebars.
  const handlebars = Handlebars.create();
  handlebars.registerPartial({
    inline: inlinePartial.trimEnd(),
    shown: shownPartial.trimEnd(),
    evidence: evidencePartial,
    facts: factsPartial,
    tables: tablesPartial,
  });
  compiled = handlebars.compile(reportTemplate, { strict: false, preventIndent: true });
  return compiled;
}

export function renderHtml(report: Report): string {
  return template()({ ...buildView(report), css: reportCss, csp: contentSecurityPolicy(reportCss) });
}

/**
 * The fleet index: one page over every node a dispatch reached, a node × rule matrix in which each cell links to the
 * rule in that node's own report. Nodes are grouped by what usually explains a difference between them (AMI, kernel,
 * kubelet and VPC CNI versions), and the groups run smallest first, because a lone node on a different kernel is what
 * an engineer is looking for.
 *
 * `buildFleetModel` is plain data (fit to be written as JSON); `renderFleetHtml` turns it into a view of escaped,
 * formatted strings and runs a logic-less template, under the same rules as the per-node report: one hashed
 * stylesheet, no script, no request, and every value (instance ids and error texts included) escaped.
 */
import Handlebars from 'handlebars';
import fleetCss from '../../templates/fleet.css?raw';
import fleetTemplate from '../../templates/fleet.html.hbs?raw';
import reportCss from '../../templates/report.css?raw';
import { TOOL_NAME, TOOL_VERSION } from '../engine/version.ts';
import { buildView, contentSecurityPolicy } from './html.ts';
import type { Report, ReportSummary, RuleResult, Severity, Verdict } from './model.ts';
import { clip, formatBytes, formatCount, formatDuration, formatTime, plural, visibleControls } from './text.ts';

export const FLEET_SCHEMA = 'eks-node-diag/fleet@1';

/** What the dispatcher knows about one node once its command ended. */
export interface FleetEntry {
  instanceId: string;
  /** Per-node dispatch outcome: Success, Failed, TimedOut, Undeliverable, agent-unsupported, upload-failed, ... */
  status: string;
  error?: string;
  report?: Report;
  /** Relative link from the index to the node's HTML report. */
  reportHref?: string;
  /** Relative link from the index to the node's bundle. */
  bundleHref?: string;
  durationMs?: number;
  bundleBytes?: number;
}

export interface FleetOptions {
  /** What was dispatched to, shown as the page heading (e.g. `cluster prod`). */
  target?: string;
  /** When the index was made; defaults to now. */
  generatedAt?: string;
}

/** A node's worst finding, or why it has none to show. */
export type NodeOutcome = Severity | 'clean' | 'no-report';

/** `not-run`: the node's report has no result for the rule (an older analyzer, or a rule added since). */
export type CellState = Verdict | 'not-run';

export interface FleetCell {
  ruleId: string;
  state: CellState;
  /** For a fail, how bad this node's finding is; otherwise the rule's default severity on this node. */
  severity?: Severity;
  /** What the rule said about this node. */
  summary?: string;
  /** The fragment of the rule's section in the node's HTML report. */
  anchor?: string;
}

export interface FleetColumn {
  ruleId: string;
  title: string;
  /** The most severe finding of the rule on any node; the rule's default severity when it failed nowhere. */
  severity: Severity;
  failingNodes: number;
  failing: Record<Severity, number>;
  passingNodes: number;
  notEvaluatedNodes: number;
  /** Analyzed nodes whose report has no result for the rule. */
  notRunNodes: number;
}

export interface FleetNode {
  instanceId: string;
  status: string;
  error?: string;
  hostname?: string;
  /** The instance id the bundle itself names, when it differs from the one the command was sent to. */
  reportedInstanceId?: string;
  reportHref?: string;
  bundleHref?: string;
  durationMs?: number;
  bundleBytes?: number;
  summary?: ReportSummary;
  outcome: NodeOutcome;
  /** One per column, in column order; empty for a node without a report. */
  cells: FleetCell[];
}

export type GroupField = 'amiId' | 'kernel' | 'kubeletVersion' | 'vpcCniVersion';

export const GROUP_FIELDS: readonly GroupField[] = ['amiId', 'kernel', 'kubeletVersion', 'vpcCniVersion'];

export const GROUP_FIELD_LABEL: Record<GroupField, string> = {
  amiId: 'AMI',
  kernel: 'kernel',
  kubeletVersion: 'kubelet',
  vpcCniVersion: 'VPC CNI',
};

/** The value shown for an identity field the bundle did not reveal. */
export const UNKNOWN = 'unknown';

export interface FleetGroup {
  /** `no-report` gathers the nodes that produced nothing to analyze; it comes first. */
  kind: 'configuration' | 'no-report';
  /** AMI id, kernel, kubelet and VPC CNI version, `unknown` when absent; undefined for the no-report group. */
  key?: Record<GroupField, string>;
  /** Fields whose value differs from the one most analyzed nodes share: what makes the group stand out. */
  differs: GroupField[];
  nodes: FleetNode[];
  /** Nodes of the group by their worst finding. */
  outcomes: Record<NodeOutcome, number>;
}

export interface FleetSummary {
  nodes: number;
  analyzed: number;
  withoutReport: number;
  outcomes: Record<NodeOutcome, number>;
  /** Dispatch outcomes, most frequent first. */
  statuses: { status: string; count: number }[];
  /** Rules that failed on at least one node, on most nodes first (at most five). */
  topRules: FleetColumn[];
  configurations: number;
}

export interface FleetModel {
  schema: typeof FLEET_SCHEMA;
  tool: { name: string; version: string };
  generatedAt: string;
  target?: string;
  summary: FleetSummary;
  columns: FleetColumn[];
  groups: FleetGroup[];
}

const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];
const VERDICTS: readonly Verdict[] = ['fail', 'pass', 'not-evaluated'];
const OUTCOME_RANK: Record<NodeOutcome, number> = { critical: 0, warning: 1, info: 2, clean: 3, 'no-report': 4 };
const TOP_RULES = 5;

function emptyOutcomes(): Record<NodeOutcome, number> {
  return { critical: 0, warning: 0, info: 0, clean: 0, 'no-report': 0 };
}

/** Reports are a contract other tools may write: a value outside the enum counts as the mildest reading. */
function severityOf(rule: RuleResult): Severity {
  return SEVERITIES.includes(rule.severity) ? rule.severity : 'info';
}

function verdictOf(rule: RuleResult): Verdict {
  return VERDICTS.includes(rule.verdict) ? rule.verdict : 'not-evaluated';
}

function count(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function outcomeOf(summary: ReportSummary): NodeOutcome {
  if (count(summary.critical) > 0) return 'critical';
  if (count(summary.warning) > 0) return 'warning';
  if (count(summary.info) > 0) return 'info';
  return 'clean';
}

function present(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * Rule id → fragment of its section in the node's HTML report, taken from the renderer itself so the two cannot
 * drift apart. The view lists fails, passes and not-evaluated rules each in report order.
 */
function reportAnchors(report: Report): Map<string, string> {
  const view = buildView(report);
  const anchors = new Map<string, string>();
  const byVerdict: Record<Verdict, { anchor: string }[]> = {
    fail: view.fails,
    pass: view.passes,
    'not-evaluated': view.notEvaluated,
  };
  const seen: Record<Verdict, number> = { fail: 0, pass: 0, 'not-evaluated': 0 };
  for (const rule of report.rules) {
    if (!VERDICTS.includes(rule.verdict)) continue;
    const anchor = byVerdict[rule.verdict][seen[rule.verdict]++]?.anchor;
    if (anchor !== undefined && !anchors.has(rule.id)) anchors.set(rule.id, anchor);
  }
  return anchors;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNodes(a: FleetNode, b: FleetNode): number {
  const rank = OUTCOME_RANK[a.outcome] - OUTCOME_RANK[b.outcome];
  if (rank !== 0) return rank;
  for (const severity of SEVERITIES) {
    const more = count(b.summary?.[severity]) - count(a.summary?.[severity]);
    if (more !== 0) return more;
  }
  return compareText(a.status, b.status) || compareText(a.instanceId, b.instanceId);
}

/** The value strictly more analyzed nodes share than any other, if there is one. */
function prevailing(values: string[]): string | undefined {
  const tally = new Map<string, number>();
  for (const value of values) tally.set(value, (tally.get(value) ?? 0) + 1);
  const ranked = [...tally].sort((a, b) => b[1] - a[1]);
  const [first, second] = ranked;
  if (first === undefined || (second !== undefined && second[1] === first[1])) return undefined;
  return first[0];
}

export function groupLabel(key: Record<GroupField, string>): string {
  return GROUP_FIELDS.map((field) => `${GROUP_FIELD_LABEL[field]} ${key[field]}`).join(' · ');
}

function groupKey(report: Report): Record<GroupField, string> {
  const identity = report.bundle.node;
  return Object.fromEntries(GROUP_FIELDS.map((field) => [field, present(identity[field]) ?? UNKNOWN])) as Record<
    GroupField,
    string
  >;
}

function fleetNode(entry: FleetEntry, columns: FleetColumn[]): FleetNode {
  const { report } = entry;
  const base = {
    instanceId: entry.instanceId,
    status: entry.status,
    error: entry.error,
    reportHref: entry.reportHref,
    bundleHref: entry.bundleHref,
    durationMs: entry.durationMs,
    bundleBytes: entry.bundleBytes,
  };
  if (report === undefined) return { ...base, outcome: 'no-report', cells: [] };
  const anchors = reportAnchors(report);
  const results = new Map<string, RuleResult>();
  for (const rule of report.rules) if (!results.has(rule.id)) results.set(rule.id, rule);
  const cells = columns.map((column): FleetCell => {
    const rule = results.get(column.ruleId);
    if (rule === undefined) return { ruleId: column.ruleId, state: 'not-run' };
    return {
      ruleId: column.ruleId,
      state: verdictOf(rule),
      severity: severityOf(rule),
      summary: rule.summary,
      anchor: anchors.get(rule.id),
    };
  });
  const { node } = report.bundle;
  const reported = present(node.instanceId);
  return {
    ...base,
    hostname: present(node.hostname),
    reportedInstanceId: reported !== undefined && reported !== entry.instanceId ? reported : undefined,
    summary: report.summary,
    outcome: outcomeOf(report.summary),
    cells,
  };
}

export function buildFleetModel(entries: FleetEntry[], options: FleetOptions = {}): FleetModel {
  const columnsById = new Map<string, FleetColumn>();
  const analyzed = entries.filter((entry) => entry.report !== undefined);
  for (const { report } of analyzed) {
    const seen = new Set<string>();
    for (const rule of report?.rules ?? []) {
      if (seen.has(rule.id)) continue;
      seen.add(rule.id);
      let column = columnsById.get(rule.id);
      if (column === undefined) {
        column = {
          ruleId: rule.id,
          title: rule.title,
          severity: severityOf(rule),
          failingNodes: 0,
          failing: { critical: 0, warning: 0, info: 0 },
          passingNodes: 0,
          notEvaluatedNodes: 0,
          notRunNodes: 0,
        };
        columnsById.set(rule.id, column);
      }
      if (present(column.title) === undefined) column.title = rule.title;
      const verdict = verdictOf(rule);
      if (verdict === 'fail') {
        const severity = severityOf(rule);
        if (column.failingNodes === 0 || SEVERITIES.indexOf(severity) < SEVERITIES.indexOf(column.severity)) {
          column.severity = severity;
        }
        column.failingNodes++;
        column.failing[severity]++;
      } else if (verdict === 'pass') {
        column.passingNodes++;
      } else {
        column.notEvaluatedNodes++;
      }
    }
  }
  const columns = [...columnsById.values()].sort(
    (a, b) => b.failingNodes - a.failingNodes || compareText(a.ruleId, b.ruleId),
  );
  for (const column of columns) {
    column.notRunNodes = analyzed.length - column.failingNodes - column.passingNodes - column.notEvaluatedNodes;
  }

  const placed = entries.map((entry) => ({
    node: fleetNode(entry, columns),
    key: entry.report === undefined ? undefined : groupKey(entry.report),
  }));
  const nodes = placed.map(({ node }) => node);
  const keys = placed.flatMap(({ key }) => (key === undefined ? [] : [key]));
  const norms = Object.fromEntries(
    GROUP_FIELDS.map((field) => [field, prevailing(keys.map((key) => key[field]))]),
  ) as Record<GroupField, string | undefined>;

  const byKey = new Map<string, FleetGroup>();
  const withoutReport: FleetNode[] = [];
  for (const { node, key } of placed) {
    if (key === undefined) {
      withoutReport.push(node);
      continue;
    }
    const id = JSON.stringify(GROUP_FIELDS.map((field) => key[field]));
    let group = byKey.get(id);
    if (group === undefined) {
      const differs = GROUP_FIELDS.filter((field) => norms[field] !== undefined && key[field] !== norms[field]);
      group = { kind: 'configuration', key, differs, nodes: [], outcomes: emptyOutcomes() };
      byKey.set(id, group);
    }
    group.nodes.push(node);
  }
  const configurations = [...byKey.values()];
  const groups: FleetGroup[] = [
    ...(withoutReport.length > 0
      ? [{ kind: 'no-report' as const, differs: [], nodes: withoutReport, outcomes: emptyOutcomes() }]
      : []),
    ...configurations,
  ];
  for (const group of groups) {
    group.nodes.sort(compareNodes);
    for (const node of group.nodes) group.outcomes[node.outcome]++;
  }
  // Smallest first; among equals, the one with more critical nodes. The no-report group stays ahead of them all:
  // those are the nodes nothing else on the page says anything about.
  const labelOf = (group: FleetGroup) => (group.key ? groupLabel(group.key) : '');
  groups.sort(
    (a, b) =>
      Number(a.kind !== 'no-report') - Number(b.kind !== 'no-report') ||
      a.nodes.length - b.nodes.length ||
      b.outcomes.critical - a.outcomes.critical ||
      compareText(labelOf(a), labelOf(b)),
  );

  const outcomes = emptyOutcomes();
  for (const node of nodes) outcomes[node.outcome]++;
  const statusCounts = new Map<string, number>();
  for (const entry of entries) statusCounts.set(entry.status, (statusCounts.get(entry.status) ?? 0) + 1);

  return {
    schema: FLEET_SCHEMA,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    generatedAt: options.generatedAt ?? new Date().toISOString(),
    target: options.target,
    summary: {
      nodes: entries.length,
      analyzed: analyzed.length,
      withoutReport: entries.length - analyzed.length,
      outcomes,
      statuses: [...statusCounts]
        .map(([status, n]) => ({ status, count: n }))
        .sort((a, b) => b.count - a.count || compareText(a.status, b.status)),
      topRules: columns.filter((column) => column.failingNodes > 0).slice(0, TOP_RULES),
      configurations: configurations.length,
    },
    columns,
    groups,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

type Tone = 'crit' | 'warn' | 'info' | 'pass' | 'ne';

const SEVERITY_TONE: Record<Severity, Tone> = { critical: 'crit', warning: 'warn', info: 'info' };
const SEVERITY_LABEL: Record<Severity, string> = { critical: 'Critical', warning: 'Warning', info: 'Info' };
const OUTCOME_TONE: Record<NodeOutcome, Tone> = {
  critical: 'crit',
  warning: 'warn',
  info: 'info',
  clean: 'pass',
  'no-report': 'ne',
};

/** Letters rather than colour alone, so the matrix reads in greyscale print and for colour-blind readers. */
const CELL_GLYPH: Record<Tone | 'nr', string> = { crit: 'C', warn: 'W', info: 'I', pass: '✓', ne: '?', nr: '' };

/** Groups larger than this show their worst nodes and fold the rest into a <details>. */
export const LARGE_GROUP = 15;
/** Rows a large group shows before the fold; the group is sorted worst first, so these are the ones to read. */
export const GROUP_PREVIEW_ROWS = 10;
/** The per-node dispatch table starts folded beyond this many nodes. */
const NODE_TABLE_OPEN_MAX = 30;
/** Rule summaries go into each cell's tooltip; a 200-node page must not carry 200 copies of a long one. */
const CELL_SUMMARY_MAX = 240;

function shown(text: string): string {
  return visibleControls(text);
}

/**
 * Links in the index may only lead to files beside it: no scheme (`javascript:`, `https:`), no absolute or
 * protocol-relative path, no backslash (browsers read it as a slash), no control character or surrounding space
 * (the URL parser drops tabs and newlines, so `java\tscript:` would become a scheme) and no fragment of its own.
 */
export function isRelativeHref(href: string | undefined): href is string {
  if (href === undefined || href === '' || href !== href.trim()) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
  if (/[\u0000-\u001f\u007f-\u009f\\#]/.test(href)) return false;
  if (href.startsWith('/')) return false;
  return !/^[a-z][a-z0-9+.-]*:/i.test(href);
}

function formatElapsed(ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined;
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 60_000) return formatDuration(ms);
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

/** The dispatcher's `ok` or SSM's own `Success`: the node's status needs no mention beside it. */
export function isSuccessStatus(status: string): boolean {
  return /^(?:ok|success)$/i.test(status);
}

/**
 * Stopped on purpose (cancelled, or never reached because --max-errors was hit) reads as neutral, and a node the
 * agent cannot run on (glibc older than 2.28) as a warning: neither says the node is broken. Anything else failed.
 */
function statusTone(status: string): Tone {
  if (isSuccessStatus(status)) return 'pass';
  if (/^(?:cancell?ed|cancelling|not-run|terminated)$/i.test(status)) return 'ne';
  if (/^agent-unsupported$/i.test(status)) return 'warn';
  return 'crit';
}

function anchorMaker(prefix: string) {
  const used = new Set<string>();
  return (id: string) => {
    const base = `${prefix}-${id.toLowerCase().replace(/[^a-z0-9_-]+/g, '-')}`;
    let anchor = base;
    for (let n = 2; used.has(anchor); n++) anchor = `${base}-${n}`;
    used.add(anchor);
    return anchor;
  };
}

function outcomeParts(outcomes: Record<NodeOutcome, number>, withoutReport = true): string {
  const parts = [
    outcomes.critical && `${formatCount(outcomes.critical)} critical`,
    outcomes.warning && `${formatCount(outcomes.warning)} warning`,
    outcomes.info && `${formatCount(outcomes.info)} info`,
    outcomes.clean && `${formatCount(outcomes.clean)} no findings`,
    withoutReport && outcomes['no-report'] && `${formatCount(outcomes['no-report'])} without a report`,
  ].filter((part): part is string => typeof part === 'string');
  return parts.join(' · ');
}

function cellView(cell: FleetCell, node: FleetNode, column: FleetColumn, href: string | undefined) {
  const where = `${shown(cell.ruleId)} on ${shown(node.instanceId)}`;
  if (cell.state === 'not-run') {
    return { cls: 'nr', glyph: CELL_GLYPH.nr, label: `${where}: not run (the report has no result for this rule)` };
  }
  const severity = cell.severity ?? column.severity;
  const tone: Tone = cell.state === 'fail' ? SEVERITY_TONE[severity] : cell.state === 'pass' ? 'pass' : 'ne';
  const outcome =
    cell.state === 'fail'
      ? `failed (${severity})`
      : cell.state === 'pass'
        ? 'passed'
        : 'not evaluated (the bundle lacks the input)';
  const summary =
    cell.state === 'fail' && cell.summary !== undefined ? ` · ${clip(shown(cell.summary), CELL_SUMMARY_MAX).text}` : '';
  return {
    cls: cell.state === 'fail' ? `f ${tone}` : tone,
    glyph: CELL_GLYPH[tone],
    label: `${where}: ${outcome}${summary}`,
    href: href !== undefined && cell.anchor !== undefined ? `${href}#${cell.anchor}` : undefined,
  };
}

function nodeView(node: FleetNode, columns: FleetColumn[], anchor: string) {
  const href = isRelativeHref(node.reportHref) ? node.reportHref : undefined;
  const summary = node.summary;
  const pills = summary
    ? SEVERITIES.filter((severity) => count(summary[severity]) > 0).map((severity) => ({
        cls: SEVERITY_TONE[severity],
        text: `${formatCount(count(summary[severity]))} ${severity}`,
      }))
    : [];
  return {
    anchor,
    name: shown(node.instanceId === '' ? '(no instance id)' : node.instanceId),
    href,
    /** The report link given, shown as text when it is not one the index may link to. */
    unlinkedHref: href === undefined && node.reportHref !== undefined ? shown(node.reportHref) : undefined,
    hostname: node.hostname === undefined ? undefined : shown(node.hostname),
    reportedInstanceId: node.reportedInstanceId === undefined ? undefined : shown(node.reportedInstanceId),
    status: shown(node.status),
    statusCls: statusTone(node.status),
    // A node without a report shows its status in the message beside it.
    showStatus: !isSuccessStatus(node.status) && node.outcome !== 'no-report',
    error: node.error === undefined ? undefined : shown(node.error),
    cls: node.outcome === 'no-report' ? statusTone(node.status) : OUTCOME_TONE[node.outcome],
    pills,
    hasReport: node.outcome !== 'no-report',
    clean: summary !== undefined && pills.length === 0,
    cleanText: summary !== undefined && count(summary.passed) === 0 ? 'no verdict' : 'no findings',
    cells: node.cells.map((cell, index) => {
      const column = columns[index];
      return column === undefined ? { cls: 'nr', glyph: '', label: '' } : cellView(cell, node, column, href);
    }),
  };
}

function dispatchRow(node: FleetNode, anchor: string) {
  const reportHref = isRelativeHref(node.reportHref) ? node.reportHref : undefined;
  const bundleHref = isRelativeHref(node.bundleHref) ? node.bundleHref : undefined;
  const summary = node.summary;
  return {
    anchor,
    name: shown(node.instanceId === '' ? '(no instance id)' : node.instanceId),
    status: shown(node.status),
    statusCls: statusTone(node.status),
    cls: OUTCOME_TONE[node.outcome],
    findings: summary
      ? [
          `${formatCount(count(summary.critical))} C`,
          `${formatCount(count(summary.warning))} W`,
          `${formatCount(count(summary.info))} I`,
        ].join(' · ')
      : undefined,
    duration: formatElapsed(node.durationMs),
    bytes: node.bundleBytes === undefined ? undefined : formatBytes(node.bundleBytes),
    bytesExact: node.bundleBytes === undefined ? undefined : `${formatCount(node.bundleBytes)} bytes`,
    error: node.error === undefined ? undefined : shown(node.error),
    reportHref,
    reportText: reportHref === undefined && node.reportHref !== undefined ? shown(node.reportHref) : undefined,
    bundleHref,
    bundleText: bundleHref === undefined && node.bundleHref !== undefined ? shown(node.bundleHref) : undefined,
  };
}

export function buildFleetView(model: FleetModel) {
  const { summary } = model;
  const ruleAnchor = anchorMaker('rule');
  const columns = model.columns.map((column) => ({
    anchor: ruleAnchor(column.ruleId),
    id: shown(column.ruleId),
    title: shown(column.title),
    cls: SEVERITY_TONE[column.severity],
    severityLabel: SEVERITY_LABEL[column.severity],
    failing: column.failingNodes,
    failingCls: column.failingNodes > 0 ? SEVERITY_TONE[column.severity] : 'ne',
    failingLine:
      column.failingNodes > 0
        ? `${formatCount(column.failingNodes)} of ${formatCount(summary.analyzed)}`
        : `0 of ${formatCount(summary.analyzed)}`,
    failingDetail: SEVERITIES.filter((severity) => column.failing[severity] > 0)
      .map((severity) => `${formatCount(column.failing[severity])} ${severity}`)
      .join(', '),
    passing: formatCount(column.passingNodes),
    notEvaluated: formatCount(column.notEvaluatedNodes),
    notRun: column.notRunNodes > 0 ? formatCount(column.notRunNodes) : undefined,
  }));
  // By rule id rather than by object, so a model read back from JSON renders the same.
  const columnViews = new Map(model.columns.map((column, index) => [column.ruleId, columns[index]]));

  const nodeAnchor = anchorMaker('node');
  const anchors = new Map<FleetNode, string>();
  const groupViews = model.groups.map((group, index) => {
    const rows = group.nodes.map((node) => {
      const anchor = nodeAnchor(node.instanceId);
      anchors.set(node, anchor);
      return nodeView(node, model.columns, anchor);
    });
    const large = rows.length > LARGE_GROUP;
    const shownRows = large ? rows.slice(0, GROUP_PREVIEW_ROWS) : rows;
    const moreRows = large ? rows.slice(GROUP_PREVIEW_ROWS) : [];
    const moreOutcomes = emptyOutcomes();
    for (const node of group.nodes.slice(shownRows.length)) moreOutcomes[node.outcome]++;
    const key = group.key;
    return {
      anchor: `group-${index + 1}`,
      noReport: group.kind === 'no-report',
      parts: key
        ? GROUP_FIELDS.map((field) => ({
            label: GROUP_FIELD_LABEL[field],
            value: shown(key[field]),
            unknown: key[field] === UNKNOWN,
            differs: group.differs.includes(field),
          }))
        : [],
      label: key ? shown(groupLabel(key)) : 'Nodes without a report',
      count: plural(group.nodes.length, 'node'),
      outcomes: outcomeParts(group.outcomes, false),
      critical: group.outcomes.critical,
      standsOut: group.differs.length > 0,
      differsLine:
        group.differs.length > 0
          ? `differs from most nodes in ${group.differs.map((field) => GROUP_FIELD_LABEL[field]).join(', ')}`
          : undefined,
      rows: shownRows,
      more: moreRows,
      moreLine:
        moreRows.length > 0
          ? `${plural(moreRows.length, 'more node')} in this group: ${outcomeParts(moreOutcomes)}`
          : undefined,
    };
  });

  const tally = [
    { key: 'critical', cls: 'crit', label: 'Critical', count: summary.outcomes.critical },
    { key: 'warning', cls: 'warn', label: 'Warning', count: summary.outcomes.warning },
    { key: 'info', cls: 'info', label: 'Info', count: summary.outcomes.info },
    { key: 'clean', cls: 'pass', label: 'No findings', count: summary.outcomes.clean },
    { key: 'noReport', cls: 'ne', label: 'No report', count: summary.outcomes['no-report'] },
  ];
  let x = 0;
  const bar = tally
    .filter((entry) => entry.count > 0 && summary.nodes > 0)
    .map((entry) => {
      const width = (entry.count / summary.nodes) * 100;
      const rect = { cls: entry.cls, x: x.toFixed(3), width: width.toFixed(3), title: `${entry.count} ${entry.label}` };
      x += width;
      return rect;
    });
  const firstNoReport = groupViews.find((group) => group.noReport);
  const summaryLine = [
    plural(summary.nodes, 'node'),
    `${formatCount(summary.analyzed)} analyzed`,
    `${formatCount(summary.withoutReport)} without a report`,
    plural(summary.configurations, 'configuration'),
  ].join(' · ');
  const target = model.target === undefined ? undefined : shown(model.target);
  const headline =
    summary.nodes === 0
      ? 'no nodes'
      : summary.outcomes.critical > 0
        ? `${plural(summary.outcomes.critical, 'node')} with critical findings`
        : 'no critical findings';

  const dispatchAnchor = anchorMaker('dispatch');
  const dispatchRows = model.groups
    .flatMap((group) => group.nodes)
    .sort(
      (a, b) =>
        Number(a.outcome !== 'no-report') - Number(b.outcome !== 'no-report') ||
        Number(isSuccessStatus(a.status)) - Number(isSuccessStatus(b.status)) ||
        compareText(a.instanceId, b.instanceId),
    )
    .map((node) => ({ ...dispatchRow(node, dispatchAnchor(node.instanceId)), matrixAnchor: anchors.get(node) }));

  return {
    title: ['eks-node-diag fleet', target, plural(summary.nodes, 'node'), headline, formatTime(model.generatedAt)]
      .filter((part) => part !== undefined)
      .join(' · '),
    generator: shown(`${model.tool.name} ${model.tool.version}`),
    heading: target ?? `Fleet of ${plural(summary.nodes, 'node')}`,
    headingSub: target === undefined ? undefined : plural(summary.nodes, 'node'),
    summaryLine,
    tally,
    bar,
    noReportAnchor: firstNoReport?.anchor,
    withoutReport: summary.withoutReport,
    statuses: summary.statuses.map((entry) => ({
      status: shown(entry.status),
      cls: statusTone(entry.status),
      count: formatCount(entry.count),
    })),
    topRules: summary.topRules.map((column) => ({
      anchor: columnViews.get(column.ruleId)?.anchor,
      id: shown(column.ruleId),
      title: shown(column.title),
      cls: SEVERITY_TONE[column.severity],
      severityLabel: SEVERITY_LABEL[column.severity],
      failingLine: `on ${formatCount(column.failingNodes)} of ${formatCount(summary.analyzed)} nodes`,
    })),
    configurations: groupViews
      .filter((group) => !group.noReport)
      .map((group) => ({
        anchor: group.anchor,
        parts: group.parts,
        count: group.count,
        critical: group.critical,
        standsOut: group.standsOut,
      })),
    columns,
    groups: groupViews,
    hasNodes: summary.nodes > 0,
    hasColumns: columns.length > 0,
    /** Columns a no-report row's message spans (a colspan of 0 would mean 1 anyway). */
    span: Math.max(1, columns.length),
    ruleCount: plural(columns.length, 'rule'),
    dispatch: { rows: dispatchRows, open: dispatchRows.length <= NODE_TABLE_OPEN_MAX },
    footer: [
      { label: 'Tool', value: `${model.tool.name} ${model.tool.version} · fleet schema ${model.schema}` },
      { label: 'Generated', value: formatTime(model.generatedAt) },
    ].map((entry) => ({ ...entry, value: shown(entry.value) })),
  };
}

export type FleetView = ReturnType<typeof buildFleetView>;

/**
 * Our two stylesheets and the one value they cannot know, the number of rule columns: every group is its own table,
 * laid out to the same fixed width so the columns line up. All of it goes in the one <style> element the page policy
 * pins by hash.
 */
export function fleetStylesheet(columns: number): string {
  const count = Number.isSafeInteger(columns) && columns > 0 ? columns : 0;
  return `${reportCss.trimEnd()}\n\n${fleetCss.trimEnd()}\n.fleet {\n  --cols: ${count};\n}\n`;
}

let compiled: ((view: FleetView & { css: string; csp: string }) => string) | undefined;

function template() {
  if (compiled) return compiled;
  if (reportCss.trim() === '' || fleetCss.trim() === '') {
    throw new Error('templates/report.css or fleet.css was loaded empty: load them as text (vitest: test.css.include)');
  }
  // A private instance, so nothing registered here reaches other users of Handlebars.
  compiled = Handlebars.create().compile(fleetTemplate, { strict: false, preventIndent: true });
  return compiled;
}

export function renderFleetHtml(model: FleetModel): string {
  const css = fleetStylesheet(model.columns.length);
  return template()({ ...buildFleetView(model), css, csp: contentSecurityPolicy(css) });
}

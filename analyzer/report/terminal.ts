/**
 * The summary printed after an analysis: who the node is, the counts, one line per fail and per not-evaluated rule,
 * and the bundle's own errors. Colour, when asked for, comes only from here: bundle text is stripped of escape
 * sequences and control characters first, so a hostile log line cannot move the cursor, clear the screen, retitle
 * the window or recolour what follows.
 */
import type { Report, RuleResult, Severity } from './model.ts';
import { clip, formatCount, noFailureMessage, plural, stripControls } from './text.ts';

/** Bundle text is cut to this many characters per line; the HTML and JSON reports have the rest. */
const MAX_TEXT = 300;
const MAX_ID_WIDTH = 32;

type Style = 'bold' | 'dim' | 'red' | 'yellow' | 'blue' | 'green';

const SGR: Record<Style, [open: number, close: number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  yellow: [33, 39],
  blue: [34, 39],
  green: [32, 39],
};

const SEVERITY_STYLE: Record<Severity, { label: string; style: Style }> = {
  critical: { label: 'CRITICAL', style: 'red' },
  warning: { label: 'WARNING', style: 'yellow' },
  info: { label: 'INFO', style: 'blue' },
};

const LABEL_WIDTH = 'NOT EVAL'.length;

/** Bundle text made safe for a terminal and short enough for one line. */
function safe(text: string): string {
  const { text: kept, omitted } = clip(stripControls(text).trim(), MAX_TEXT);
  return omitted > 0 ? `${kept}…` : kept;
}

export function renderTerminal(report: Report, opts: { color: boolean }): string {
  const paint = (style: Style, text: string) => {
    if (!opts.color) return text;
    const [open, close] = SGR[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  };
  const { node } = report.bundle;
  const { summary } = report;

  const name = safe(node.hostname ?? node.instanceId ?? report.bundle.source);
  const details = [
    node.hostname !== undefined ? node.instanceId : undefined,
    node.instanceType,
    node.availabilityZone ?? node.region,
    node.kubeletVersion && `kubelet ${node.kubeletVersion}`,
    node.vpcCniVersion && `VPC CNI ${node.vpcCniVersion}`,
  ]
    .filter((part): part is string => Boolean(part))
    .map(safe);
  const lines = [`${paint('bold', name)}${details.length > 0 ? ` · ${details.join(' · ')}` : ''}`];

  const count = (value: number, label: string, style: Style) =>
    value > 0 ? paint(style, `${formatCount(value)} ${label}`) : `${formatCount(value)} ${label}`;
  const counts = [
    count(summary.critical, 'critical', 'red'),
    count(summary.warning, 'warning', 'yellow'),
    count(summary.info, 'info', 'blue'),
    count(summary.passed, 'passed', 'green'),
    count(summary.notEvaluated, 'not evaluated', 'dim'),
  ];
  lines.push(`${counts.join(' · ')} (${plural(summary.rules, 'rule')})`);

  const fails = report.rules.filter((rule) => rule.verdict === 'fail');
  const notEvaluated = report.rules.filter((rule) => rule.verdict === 'not-evaluated');
  const listed = [...fails, ...notEvaluated];
  const idWidth = Math.min(MAX_ID_WIDTH, Math.max(0, ...listed.map((rule) => safe(rule.id).length)));
  const row = (label: string, style: Style, rule: RuleResult, text: string) =>
    `  ${paint(style, label.padEnd(LABEL_WIDTH))}  ${safe(rule.id).padEnd(idWidth)}  ${safe(text)}`;

  if (fails.length === 0) {
    const { healthy, text } = noFailureMessage(report.rules.length - notEvaluated.length, notEvaluated.length);
    lines.push(`  ${healthy ? paint('green', text) : text}`);
  }
  for (const rule of fails) {
    const { label, style } = SEVERITY_STYLE[rule.severity] ?? { label: 'FAIL', style: 'red' };
    lines.push(row(label, style, rule, rule.summary));
  }
  for (const rule of notEvaluated) lines.push(row('NOT EVAL', 'dim', rule, rule.reason ?? rule.summary));

  if (report.bundle.errors.length > 0) {
    lines.push(paint('yellow', `Bundle errors (${formatCount(report.bundle.errors.length)}):`));
    const codeWidth = Math.max(...report.bundle.errors.map((error) => safe(error.code).length));
    for (const error of report.bundle.errors) {
      const member = error.member === undefined ? '' : `${safe(error.member)}: `;
      lines.push(`  ${safe(error.code).padEnd(codeWidth)}  ${member}${safe(error.message)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

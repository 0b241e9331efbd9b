import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostileReport, hostileStrings, minimalReport, realisticReport } from './fixtures.ts';
import {
  buildFleetModel,
  buildFleetView,
  type FleetEntry,
  type FleetModel,
  fleetStylesheet,
  GROUP_PREVIEW_ROWS,
  isRelativeHref,
  isSuccessStatus,
  LARGE_GROUP,
  renderFleetHtml,
} from './fleet.ts';
import { renderHtml } from './html.ts';
import type { Report, RuleResult, Severity, Verdict } from './model.ts';

const templatesDir = join(import.meta.dirname, '../../templates');
const GENERATED_AT = '2026-11-26T10:30:00.000Z';

const CURRENT = {
  amiId: 'ami-0c9e5d1a2b3f47a86',
  kernel: '6.1.128-136.201.amzn2023.x86_64',
  kubeletVersion: 'v1.31.5-eks-5d4a308',
  vpcCniVersion: 'v1.19.2-eksbuild.1',
};

type Outcome = [Verdict, Severity?];

function rule(id: string, [verdict, severity = 'warning']: Outcome): RuleResult {
  return {
    id,
    title: `Title of ${id}`,
    severity,
    verdict,
    summary: `${id} ${verdict} on this node`,
    evidence: [],
    facts: [],
    tables: [],
    remediation: [],
    caveats: [],
    references: [],
    inputs: [],
  };
}

/** A report of `instanceId` on `identity` whose rules came out as `outcomes`, summary counts to match. */
function nodeReport(
  instanceId: string,
  outcomes: Record<string, Outcome>,
  identity: Partial<Report['bundle']['node']> = {},
): Report {
  const report = realisticReport();
  report.bundle.node = { ...report.bundle.node, ...CURRENT, instanceId, hostname: `host-${instanceId}`, ...identity };
  report.rules = Object.entries(outcomes).map(([id, outcome]) => rule(id, outcome));
  const fails = (severity: Severity) =>
    report.rules.filter((result) => result.verdict === 'fail' && result.severity === severity).length;
  report.summary = {
    critical: fails('critical'),
    warning: fails('warning'),
    info: fails('info'),
    passed: report.rules.filter((result) => result.verdict === 'pass').length,
    notEvaluated: report.rules.filter((result) => result.verdict === 'not-evaluated').length,
    rules: report.rules.length,
  };
  return report;
}

const ALL_PASS: Record<string, Outcome> = {
  'forward-policy-drop': ['pass', 'critical'],
  'ip-forwarding-disabled': ['pass', 'critical'],
  'oom-kills': ['pass'],
  'rp-filter-strict': ['pass'],
};

function entry(report: Report, extra: Partial<FleetEntry> = {}): FleetEntry {
  const instanceId = report.bundle.node.instanceId ?? 'i-unknown';
  return { instanceId, status: 'Success', report, reportHref: `nodes/${instanceId}.html`, ...extra };
}

/**
 * Six nodes: three on the current configuration (one with a critical FORWARD DROP, one with an OOM warning, one
 * clean), two on an older kernel (one clean, one with an info), one on a custom AMI with its own kernel, plus two
 * nodes the dispatch got nothing from.
 */
function smallFleet(): FleetEntry[] {
  return [
    entry(nodeReport('i-0000000000000000a', ALL_PASS)),
    entry(nodeReport('i-0000000000000000b', { ...ALL_PASS, 'oom-kills': ['fail', 'warning'] })),
    entry(nodeReport('i-0000000000000000c', { ...ALL_PASS, 'forward-policy-drop': ['fail', 'critical'] })),
    entry(nodeReport('i-0000000000000000d', ALL_PASS, { kernel: '6.1.119-129.201.amzn2023.x86_64' })),
    entry(
      nodeReport(
        'i-0000000000000000e',
        { ...ALL_PASS, 'rp-filter-strict': ['fail', 'info'] },
        { kernel: '6.1.119-129.201.amzn2023.x86_64' },
      ),
    ),
    entry(
      nodeReport(
        'i-0000000000000000f',
        {
          ...ALL_PASS,
          'forward-policy-drop': ['fail', 'critical'],
          'oom-kills': ['fail', 'critical'],
          'ip-forwarding-disabled': ['not-evaluated', 'critical'],
        },
        { amiId: 'ami-0e4b2d6f8a1c3e5b7', kernel: '6.1.130-139.222.amzn2023.x86_64' },
      ),
    ),
    { instanceId: 'i-00000000000000010', status: 'TimedOut', error: 'The command did not finish within 15m.' },
    {
      instanceId: 'i-00000000000000011',
      status: 'Undeliverable',
      error: 'The instance is not reachable.',
      durationMs: 900_000,
    },
  ];
}

function ids(model: FleetModel): string[][] {
  return model.groups.map((group) => group.nodes.map((node) => node.instanceId));
}

describe('buildFleetModel', () => {
  const model = buildFleetModel(smallFleet(), { generatedAt: GENERATED_AT, target: 'cluster prod' });

  it('makes one column per rule seen, failing on most nodes first, then by id', () => {
    expect(model.columns.map((column) => [column.ruleId, column.failingNodes])).toEqual([
      ['forward-policy-drop', 2],
      ['oom-kills', 2],
      ['rp-filter-strict', 1],
      ['ip-forwarding-disabled', 0],
    ]);
    const oom = model.columns[1];
    expect(oom?.title).toBe('Title of oom-kills');
    expect(oom?.failing).toEqual({ critical: 1, warning: 1, info: 0 });
    // The column carries the worst finding any node has for the rule.
    expect(oom?.severity).toBe('critical');
    expect(model.columns[2]?.severity).toBe('info');
    expect(model.columns[3]).toMatchObject({ severity: 'critical', passingNodes: 5, notEvaluatedNodes: 1 });
  });

  it('groups analyzed nodes by AMI, kernel, kubelet and VPC CNI, smallest group first', () => {
    expect(model.groups.map((group) => [group.kind, group.nodes.length])).toEqual([
      ['no-report', 2],
      ['configuration', 1],
      ['configuration', 2],
      ['configuration', 3],
    ]);
    expect(model.groups[1]?.key).toEqual({
      amiId: 'ami-0e4b2d6f8a1c3e5b7',
      kernel: '6.1.130-139.222.amzn2023.x86_64',
      kubeletVersion: CURRENT.kubeletVersion,
      vpcCniVersion: CURRENT.vpcCniVersion,
    });
    expect(model.groups[2]?.key?.kernel).toBe('6.1.119-129.201.amzn2023.x86_64');
    expect(model.groups[3]?.key).toEqual(CURRENT);
    expect(model.summary.configurations).toBe(3);
  });

  it('marks the values a group does not share with most analyzed nodes', () => {
    expect(model.groups.map((group) => group.differs)).toEqual([[], ['amiId', 'kernel'], ['kernel'], []]);
  });

  it('puts nodes with critical findings first within a group, then warning, info and clean', () => {
    expect(ids(model)).toEqual([
      ['i-00000000000000010', 'i-00000000000000011'],
      ['i-0000000000000000f'],
      ['i-0000000000000000e', 'i-0000000000000000d'],
      ['i-0000000000000000c', 'i-0000000000000000b', 'i-0000000000000000a'],
    ]);
    expect(model.groups[3]?.nodes.map((node) => node.outcome)).toEqual(['critical', 'warning', 'clean']);
    expect(model.groups[3]?.outcomes).toEqual({ critical: 1, warning: 1, info: 0, clean: 1, 'no-report': 0 });
  });

  it('gives each analyzed node one cell per column, in column order', () => {
    const custom = model.groups[1]?.nodes[0];
    expect(custom?.cells.map((cell) => [cell.ruleId, cell.state, cell.severity])).toEqual([
      ['forward-policy-drop', 'fail', 'critical'],
      ['oom-kills', 'fail', 'critical'],
      ['rp-filter-strict', 'pass', 'warning'],
      ['ip-forwarding-disabled', 'not-evaluated', 'critical'],
    ]);
    expect(custom?.cells[0]?.summary).toBe('forward-policy-drop fail on this node');
    expect(custom?.summary).toMatchObject({ critical: 2, notEvaluated: 1 });
    expect(custom?.hostname).toBe('host-i-0000000000000000f');
    for (const group of model.groups) {
      for (const node of group.nodes) expect(node.cells).toHaveLength(group.kind === 'no-report' ? 0 : 4);
    }
  });

  it('keeps nodes without a report with their status and error', () => {
    expect(model.groups[0]?.nodes).toEqual([
      expect.objectContaining({
        instanceId: 'i-00000000000000010',
        status: 'TimedOut',
        error: 'The command did not finish within 15m.',
        outcome: 'no-report',
        cells: [],
      }),
      expect.objectContaining({ status: 'Undeliverable', durationMs: 900_000, outcome: 'no-report' }),
    ]);
  });

  it('summarizes the fleet', () => {
    expect(model.summary).toMatchObject({
      nodes: 8,
      analyzed: 6,
      withoutReport: 2,
      outcomes: { critical: 2, warning: 1, info: 1, clean: 2, 'no-report': 2 },
      statuses: [
        { status: 'Success', count: 6 },
        { status: 'TimedOut', count: 1 },
        { status: 'Undeliverable', count: 1 },
      ],
    });
    expect(model.summary.topRules.map((column) => column.ruleId)).toEqual([
      'forward-policy-drop',
      'oom-kills',
      'rp-filter-strict',
    ]);
    expect(model).toMatchObject({ schema: 'eks-node-diag/fleet@1', generatedAt: GENERATED_AT, target: 'cluster prod' });
  });

  it('links each cell to an anchor that exists in the node report, whatever the rule id', () => {
    const report = nodeReport('i-0000000000000abcd', {
      'a.b': ['fail', 'critical'],
      'a-b': ['pass'],
      'Weird ID/2': ['not-evaluated'],
      [hostileStrings.attributeBreak]: ['fail', 'info'],
    });
    const html = renderHtml(report);
    const [node] = buildFleetModel([entry(report)]).groups[0]?.nodes ?? [];
    expect(node?.cells.map((cell) => cell.anchor)).toEqual(
      expect.arrayContaining(['rule-a-b', 'rule-a-b-2', 'rule-weird-id-2']),
    );
    for (const cell of node?.cells ?? []) {
      expect(cell.anchor).toBeDefined();
      expect(html).toContain(`id="${cell.anchor}"`);
    }
  });

  it('groups identity the bundle did not reveal as unknown, and breaks size ties by critical nodes', () => {
    const fleet = buildFleetModel([
      entry(nodeReport('i-1', ALL_PASS, { amiId: undefined, kernel: '  ' })),
      entry(nodeReport('i-2', { ...ALL_PASS, 'oom-kills': ['fail', 'critical'] }, { vpcCniVersion: 'v1.18.3' })),
      entry(nodeReport('i-3', ALL_PASS)),
      entry(nodeReport('i-4', ALL_PASS)),
    ]);
    expect(fleet.groups.map((group) => group.nodes.map((node) => node.instanceId))).toEqual([
      ['i-2'],
      ['i-1'],
      ['i-3', 'i-4'],
    ]);
    expect(fleet.groups[1]?.key).toMatchObject({ amiId: 'unknown', kernel: 'unknown' });
    expect(fleet.groups[1]?.differs).toEqual(['amiId', 'kernel']);
  });

  it('marks nothing as different when no value is held by more nodes than any other', () => {
    const fleet = buildFleetModel([
      entry(nodeReport('i-1', ALL_PASS, { kernel: 'k1' })),
      entry(nodeReport('i-2', ALL_PASS, { kernel: 'k2' })),
    ]);
    expect(fleet.groups.map((group) => group.differs)).toEqual([[], []]);
  });

  it('shows a rule a node did not run as not-run, and counts it per column', () => {
    const fleet = buildFleetModel([
      entry(nodeReport('i-1', { 'oom-kills': ['pass'], 'new-rule': ['fail', 'warning'] })),
      entry(nodeReport('i-2', { 'oom-kills': ['pass'] })),
    ]);
    expect(fleet.columns.map((column) => [column.ruleId, column.notRunNodes])).toEqual([
      ['new-rule', 1],
      ['oom-kills', 0],
    ]);
    const older = fleet.groups[0]?.nodes.find((node) => node.instanceId === 'i-2');
    expect(older?.cells).toEqual([
      { ruleId: 'new-rule', state: 'not-run' },
      expect.objectContaining({ state: 'pass' }),
    ]);
  });

  it('survives malformed reports: unknown verdicts and severities, duplicate ids, counts that are not numbers', () => {
    const report = nodeReport('i-1', { 'oom-kills': ['pass'] });
    report.rules.push(
      { ...rule('odd', ['fail']), verdict: 'exploded' as Verdict, severity: 'apocalyptic' as Severity },
      rule('oom-kills', ['fail', 'critical']),
    );
    report.summary = { critical: Number.NaN, warning: -3, info: 0, passed: 1, notEvaluated: 0, rules: 3 };
    const fleet = buildFleetModel([entry(report), entry(nodeReport('i-1', ALL_PASS))]);
    const node = fleet.groups[0]?.nodes.find((candidate) => candidate.cells.some((cell) => cell.ruleId === 'odd'));
    expect(node?.outcome).toBe('clean');
    // The first result of a rule id wins, as in the node's own report.
    expect(node?.cells.find((cell) => cell.ruleId === 'oom-kills')?.state).toBe('pass');
    expect(node?.cells.find((cell) => cell.ruleId === 'odd')).toMatchObject({
      state: 'not-evaluated',
      severity: 'info',
    });
    expect(fleet.columns.find((column) => column.ruleId === 'oom-kills')?.failingNodes).toBe(0);
    // Two entries may name the same instance: both stay, with distinct anchors on the page.
    expect(fleet.summary.nodes).toBe(2);
    const view = buildFleetView(fleet);
    const anchors = view.groups.flatMap((group) => group.rows.map((row) => row.anchor));
    expect(new Set(anchors).size).toBe(2);
  });

  it('handles an empty fleet and reports without rules or identity', () => {
    const empty = buildFleetModel([]);
    expect(empty.columns).toEqual([]);
    expect(empty.groups).toEqual([]);
    expect(empty.summary).toMatchObject({ nodes: 0, analyzed: 0, configurations: 0, topRules: [] });
    expect(renderFleetHtml(empty)).toContain('The dispatch reached no node.');

    const bare = buildFleetModel([{ instanceId: 'i-1', status: 'Success', report: minimalReport() }]);
    expect(bare.groups[0]?.key).toEqual({
      amiId: 'unknown',
      kernel: 'unknown',
      kubeletVersion: 'unknown',
      vpcCniVersion: 'unknown',
    });
    expect(bare.groups[0]?.nodes[0]).toMatchObject({ outcome: 'clean', cells: [] });
    expect(renderFleetHtml(bare)).toContain('No node was analyzed, so no rule was run.');
  });

  it('notes when the bundle names another instance than the one dispatched to', () => {
    const fleet = buildFleetModel([{ ...entry(nodeReport('i-bundle', ALL_PASS)), instanceId: 'i-dispatched' }]);
    expect(fleet.groups[0]?.nodes[0]).toMatchObject({ instanceId: 'i-dispatched', reportedInstanceId: 'i-bundle' });
  });
});

describe('isSuccessStatus', () => {
  it.each([
    ['ok', true],
    ['Success', true],
    ['SUCCESS', true],
    ['okay', false],
    ['Success ', false],
    ['failed', false],
    ['', false],
  ])('%j → %s', (status, expected) => {
    expect(isSuccessStatus(status)).toBe(expected);
  });
});

describe('isRelativeHref', () => {
  it.each([
    ['nodes/i-0a1b2c3d4e5f60718.html', true],
    ['i-0a1b.html', true],
    ['../other/report.html', true],
    ['nodes/with space.html', true],
    ['javascript:alert(1)', false],
    ['JavaScript:alert(1)', false],
    ['java\tscript:alert(1)', false],
    ['java\nscript:alert(1)', false],
    [' javascript:alert(1)', false],
    ['data:text/html,x', false],
    ['https://example.com/report.html', false],
    ['file:///etc/passwd', false],
    ['//evil.example/x', false],
    ['/etc/passwd', false],
    ['\\\\evil.example\\x', false],
    ['nodes/x.html#rule-1', false],
    ['', false],
    [undefined, false],
  ])('%j → %s', (href, expected) => {
    expect(isRelativeHref(href)).toBe(expected);
  });
});

function styleOf(html: string): string {
  const match = /<style>([\s\S]*?)<\/style>/.exec(html);
  if (!match) throw new Error('no <style> element');
  return match[1] as string;
}

describe('renderFleetHtml', () => {
  const model = buildFleetModel(smallFleet(), { generatedAt: GENERATED_AT, target: 'cluster prod' });
  const html = renderFleetHtml(model);

  it('is one self-contained document that loads nothing and runs nothing', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<img|<link|<iframe|<object|<embed/i);
    expect(html).not.toMatch(/\ssrc=/i);
    expect(html).not.toMatch(/url\(|@import/i);
    expect(html).not.toMatch(/\sstyle=/i);
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((match) => match[1] as string);
    expect(hrefs.filter((href) => !href.startsWith('#') && !href.startsWith('nodes/i-'))).toEqual([]);
  });

  it('pins its stylesheet (report.css, fleet.css and the column count) by hash', () => {
    const css = styleOf(html);
    const report = readFileSync(join(templatesDir, 'report.css'), 'utf8');
    const fleet = readFileSync(join(templatesDir, 'fleet.css'), 'utf8');
    expect(css).toBe(`${report.trimEnd()}\n\n${fleet.trimEnd()}\n.fleet {\n  --cols: 4;\n}\n`);
    expect(css).toBe(fleetStylesheet(4));
    const hash = createHash('sha256').update(css).digest('base64');
    const attribute = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    const csp = attribute.replaceAll('&#x27;', "'").replaceAll('&#x3D;', '=');
    expect(csp).toBe(`default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`);
  });

  it('draws one cell per analyzed node and rule, and one message per node without a report', () => {
    expect(html.match(/<td class="c /g)).toHaveLength(6 * 4);
    expect(html.match(/<td class="nodata"/g)).toHaveLength(2);
    expect(html.match(/data-node-row/g)).toHaveLength(8);
    expect(html).toContain('<td class="c f crit"><a href="nodes/i-0000000000000000c.html#rule-forward-policy-drop"');
    expect(html).toContain('The command did not finish within 15m.');
  });

  it('links the summary to the rules and the configurations to their groups', () => {
    expect(html).toContain('<a href="#rule-forward-policy-drop"><code>forward-policy-drop</code></a>');
    expect(html).toContain('<tr id="rule-forward-policy-drop" class="bad crit">');
    for (const [index] of model.groups.entries()) expect(html).toContain(`id="group-${index + 1}"`);
    expect(html).toContain('<span class="kv differs"><span class="k">kernel</span>');
  });

  it('shows the fleet tally', () => {
    const counts = Object.fromEntries(
      [...html.matchAll(/data-summary-key="(\w+)"><span><b class="count">(\d+)<\/b>/g)].map((match) => [
        match[1],
        Number(match[2]),
      ]),
    );
    expect(counts).toEqual({ critical: 2, warning: 1, info: 1, clean: 2, noReport: 2 });
    expect(html).toContain('8 nodes · 6 analyzed · 2 without a report · 3 configurations');
  });

  it('renders a model read back from JSON exactly as the original', () => {
    expect(renderFleetHtml(JSON.parse(JSON.stringify(model)))).toBe(html);
  });

  it("reads the dispatcher's statuses and SSM's alike", () => {
    const fleet = buildFleetModel(
      ['ok', 'Success', 'failed', 'Undeliverable', 'agent-unsupported', 'cancelled', 'not-run'].map((status, index) =>
        index < 2 ? { ...entry(nodeReport(`i-${index}`, ALL_PASS)), status } : { instanceId: `i-${index}`, status },
      ),
    );
    const view = buildFleetView(fleet);
    const tones = Object.fromEntries(view.dispatch.rows.map((row) => [row.status, row.statusCls]));
    expect(tones).toEqual({
      ok: 'pass',
      Success: 'pass',
      failed: 'crit',
      Undeliverable: 'crit',
      'agent-unsupported': 'warn',
      cancelled: 'ne',
      'not-run': 'ne',
    });
    const analyzedRows = view.groups.flatMap((group) => group.rows).filter((row) => row.hasReport);
    expect(analyzedRows.map((row) => row.showStatus)).toEqual([false, false]);
    expect(view.dispatch.rows.slice(-2).map((row) => row.status)).toEqual(['ok', 'Success']);
  });

  it('formats dispatch durations and sizes', () => {
    const fleet = buildFleetModel([
      { ...entry(nodeReport('i-1', ALL_PASS)), durationMs: 62_400, bundleBytes: 3_481_022 },
      { instanceId: 'i-2', status: 'Failed', durationMs: 900_000 },
    ]);
    const rows = buildFleetView(fleet).dispatch.rows;
    expect(rows.map((row) => [row.name, row.status, row.duration, row.bytes])).toEqual([
      ['i-2', 'Failed', '15 min 00 s', undefined],
      ['i-1', 'Success', '1 min 02 s', '3.3 MiB'],
    ]);
  });

  it('escapes hostile instance ids, statuses, errors and identity, and refuses links that are not relative', () => {
    const h = hostileStrings;
    const hostile = hostileReport();
    hostile.bundle.node.amiId = h.attributeBreak;
    const page = renderFleetHtml(
      buildFleetModel(
        [
          { instanceId: h.img, status: h.script, error: `${h.templateBlock} ${h.ansi}` },
          { instanceId: h.attributeBreak, status: 'Success', report: hostile, reportHref: 'javascript:alert(1)' },
          { ...entry(nodeReport(h.template, ALL_PASS)), bundleHref: '//evil.example/b.tar.gz' },
        ],
        { target: h.script },
      ),
    );
    expect(page).not.toMatch(/<script|<img|<svg onload/i);
    expect(page).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('{{#each this}}{{this}}{{/each}}');
    expect(page).toContain('{{constructor}}');
    expect(page).toContain('\\x1b[2J\\x1b[H\\x1b[31mRED\\x1b[0m');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(page).not.toMatch(/[\u001b\u009b\u202e]/);
    const hrefs = [...page.matchAll(/href="([^"]*)"/g)].map((match) => match[1] as string);
    expect(hrefs.filter((href) => !href.startsWith('#') && !href.startsWith('nodes/'))).toEqual([]);
    expect(page).toContain('report <span class="mono">javascript:alert(1)</span> is not a relative link');
    expect(page).toContain('<span class="mono">//evil.example/b.tar.gz</span>');
  });

  it('folds a large group below its worst nodes', () => {
    const entries = Array.from({ length: 40 }, (_, index) =>
      entry(
        nodeReport(
          `i-${String(index).padStart(17, '0')}`,
          index % 13 === 5 ? { ...ALL_PASS, 'oom-kills': ['fail', 'critical'] } : ALL_PASS,
        ),
      ),
    );
    const fleet = buildFleetModel(entries);
    expect(fleet.groups[0]?.nodes.length).toBeGreaterThan(LARGE_GROUP);
    const [group] = buildFleetView(fleet).groups;
    expect(group?.rows).toHaveLength(GROUP_PREVIEW_ROWS);
    expect(group?.more).toHaveLength(40 - GROUP_PREVIEW_ROWS);
    expect(group?.rows.slice(0, 3).map((row) => row.cls)).toEqual(['crit', 'crit', 'crit']);
    expect(group?.moreLine).toBe('30 more nodes in this group: 30 no findings');
    const page = renderFleetHtml(fleet);
    expect(page.match(/<details class="more">/g)).toHaveLength(1);
    expect(page.match(/<td class="c /g)).toHaveLength(40 * 4);
  });

  it('outputs nothing unescaped but the stylesheet, which loads nothing and cannot close its element', () => {
    const source = readFileSync(join(templatesDir, 'fleet.html.hbs'), 'utf8');
    expect(source.match(/\{\{\{[^}]*\}\}\}|\{\{&[^}]*\}\}/g)).toEqual(['{{{css}}}']);
    const css = readFileSync(join(templatesDir, 'fleet.css'), 'utf8');
    expect(css).not.toMatch(/url\(|@import|@font-face|<\/style/i);
  });

  it('leaves a small group unfolded', () => {
    expect(html).not.toContain('<details class="more">');
  });
});

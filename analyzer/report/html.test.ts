import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostileReport, hostileStrings, LONG_LINE_LENGTH, minimalReport, realisticReport } from './fixtures.ts';
import { buildView, contentSecurityPolicy, HTML_MAX_LINE, lineRanges, renderHtml } from './html.ts';

const templatesDir = join(import.meta.dirname, '../../templates');

function tallyCounts(html: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of html.matchAll(/data-summary-key="(\w+)">(?:<a [^>]*>|<span>)<b class="count">(\d+)<\/b>/g)) {
    counts[match[1] as string] = Number(match[2]);
  }
  return counts;
}

function styleOf(html: string): string {
  const match = /<style>([\s\S]*?)<\/style>/.exec(html);
  if (!match) throw new Error('no <style> element');
  return match[1] as string;
}

describe('renderHtml on a realistic report', () => {
  const report = realisticReport();
  const html = renderHtml(report);

  it('is one self-contained document that loads nothing', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<img|<link|<iframe|<object|<embed/i);
    expect(html).not.toMatch(/\ssrc=/i);
    expect(html).not.toMatch(/url\(|@import/i);
    // Links are allowed only to references and in-page anchors.
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((match) => match[1] as string);
    const external = hrefs.filter((href) => !href.startsWith('#'));
    expect(external).toEqual(report.rules.flatMap((rule) => rule.references.map((reference) => reference.url)));
  });

  it('pins the stylesheet by hash in a strict Content-Security-Policy', () => {
    const css = styleOf(html);
    const hash = createHash('sha256').update(css).digest('base64');
    const attribute = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    const csp = attribute.replaceAll('&#x27;', "'").replaceAll('&#x3D;', '=');
    expect(csp).toBe(`default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`);
    expect(contentSecurityPolicy(css)).toBe(csp);
    expect(css).toBe(readFileSync(join(templatesDir, 'report.css'), 'utf8'));
    // A style attribute would be blocked by the hash-only policy.
    expect(html).not.toMatch(/\sstyle=/i);
  });

  it('shows the summary counts of the model', () => {
    const { critical, warning, info, passed, notEvaluated } = report.summary;
    expect(tallyCounts(html)).toEqual({ critical, warning, info, passed, notEvaluated });
    expect(html).toContain('6 rules · 2 failed · 2 passed · 2 not evaluated');
  });

  it('renders each fail as a finding card with evidence, facts, table, steps and references', () => {
    expect(html).toContain('<article class="finding crit" id="rule-kubelet-probe-failures"');
    expect(html).toContain('<article class="finding warn" id="rule-forward-policy-drop"');
    expect(html).toContain('lines 84117–84119, 86402 and 86405');
    expect(html).toContain('2,282 lines not shown');
    expect(html).toMatch(/<tr class="hit" title="2026-11-26T09:41:07.312671Z"><td class="n">84117<\/td>/);
    expect(html).not.toContain('class="ctl"');
    expect(html).toContain('<tr class=""><td class="n">84119</td>');
    expect(html).toContain('<span class="note">57 more failures like this, to 10:12:44</span>');
    expect(html).toContain('<th scope="col" class="num">Failures</th>');
    expect(html).toContain('<td class="num">47</td>');
    expect(html).toContain(
      '<pre class="cmd" title="Click once to select the whole command"><code>kubectl -n kube-system get pod aws-node-x7k2p -o wide</code></pre>',
    );
    // A backtick span in the middle of a step stays inline.
    expect(html).toContain('remove it (<code>kubectl -n kube-system edit daemonset aws-node</code>);');
    expect(html).toContain('<h4>Why it matters</h4>');
    expect(html).toContain('href="https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md"');
  });

  it('lets only long excerpts break across printed pages', () => {
    expect(html).toContain('<table class="code" aria-label="Excerpt of kubelet/kubelet.log">');
    expect(html).toContain('<table class="code short" aria-label="Excerpt of networking/iptables-save.txt">');
  });

  it('marks a line that is absent from a file', () => {
    expect(html).toMatch(
      /<tr class="absent">.*<span class="lbl">Absent\.<\/span> <code>ExecStartPre&#x3D;\/sbin\/iptables -P FORWARD ACCEPT -w 5<\/code><span class="note">expected in the \[Service\] section<\/span>/,
    );
  });

  it('lists passes with their evidence and not-evaluated rules with their reason', () => {
    expect(html).toContain('id="rule-ip-forward-enabled"');
    expect(html).toContain('<td class="t">net.ipv4.ip_forward &#x3D; 1</td>');
    expect(html).toMatch(/<tr id="rule-eni-ip-capacity">.*GET http:\/\/localhost:61679\/v1\/enis gave no response/);
    expect(html).toContain('<details class="box" open>');
  });

  it('shows the inventory and the bundle errors', () => {
    expect(html).toContain('8 files · 59.7 MiB · 5 read · 1 skipped · 1 truncated · 1 not parsed');
    expect(html).toMatch(/<tr class="bad warn"><td><code>var_log\/aws-routed-eni\/ipamd.log<\/code>/);
    expect(html).toMatch(/<tr class="bad ne"><td><code>networking\/conntrack.txt<\/code>/);
    expect(html).toContain('archive member <code>eks_i-0a1b2c3d4e5f60718/var_log/aws-routed-eni/ipamd.log</code>');
    expect(html).toContain('<td class="num" title="19,293,184 bytes">18.4 MiB</td>');
    expect(html).toContain('<code class="nw">ENDIAG_ARCHIVE_TRUNCATED</code>');
    expect(html).toContain('The bundle has 2 problems.');
  });

  it('renders the same bytes every time', () => {
    expect(renderHtml(realisticReport())).toBe(html);
  });
});

describe('renderHtml on hostile bundle text', () => {
  const html = renderHtml(hostileReport());

  it('escapes every markup string', () => {
    expect(html).not.toContain(hostileStrings.script);
    expect(html).not.toContain(hostileStrings.img);
    expect(html).not.toContain('<svg onload');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
    expect(html).not.toMatch(/<script|<img|\son\w+=/i);
  });

  it('shows template syntax from the bundle as text instead of evaluating it', () => {
    expect(html).toContain('{{constructor}}');
    expect(html).toContain('{{#each this}}{{this}}{{/each}}');
  });

  it('makes control characters visible and emits none', () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(html).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e]/);
    // In evidence each escape is set apart; elsewhere it is plain text.
    expect(html).toContain(
      '<span class="ctl">\\x1b</span>[2J<span class="ctl">\\x1b</span>[H<span class="ctl">\\x1b</span>[31mRED',
    );
    expect(html).toContain('<span class="ctl">\\x1b</span>]0;pwned<span class="ctl">\\x07\\x9b</span>31m');
    expect(html).toContain('<span class="ctl">\\u202e</span>txt.exe');
    expect(html).toContain('inside<span class="ctl">\\n</span>newline');
    expect(html).toContain('<dd class="mono">\\x1b[2J\\x1b[H\\x1b[31mRED\\x1b[0m\\x1b]0;pwned\\x07</dd>');
    expect(html).toContain('../../etc/&lt;script&gt;alert(1)&lt;/script&gt;\\r\\n\\x1b[2J');
  });

  it('cuts a 100 KB line and says how much is hidden', () => {
    expect(html).toContain(`${'A'.repeat(HTML_MAX_LINE - 8)}</td>`.slice(0, 100));
    const longLine = hostileReport().rules[0]?.evidence[0]?.text ?? '';
    expect(longLine.length).toBeGreaterThan(LONG_LINE_LENGTH - 10);
    const hidden = (longLine.length - HTML_MAX_LINE).toLocaleString('en-US');
    expect(html).toContain(`<span class="cut">… ${hidden} more characters not shown</span>`);
    expect(html.length).toBeLessThan(60_000);
  });

  it('links only web references', () => {
    expect(html).not.toMatch(/href="(?:javascript|data):/i);
    expect(html).toContain('javascript:alert(1)');
    expect(html).toContain('href="https://example.com/?q&#x3D;&lt;script&gt;"');
  });

  it('pads a short table row and keeps a hostile caption as text', () => {
    expect(html).toContain('<td>short row</td><td></td>');
    expect(html).toContain('<caption>&lt;script&gt;alert(1)&lt;/script&gt;</caption>');
  });

  it('builds safe anchors from rule ids', () => {
    const report = hostileReport();
    const first = report.rules[0];
    if (!first) throw new Error('fixture has rules');
    report.rules.push({ ...first, id: `${first.id}" onmouseover="x` }, { ...first });
    const view = buildView(report);
    expect(view.fails.map((fail) => fail.anchor)).toEqual([
      'rule-hostile-evidence',
      'rule-hostile-evidence-onmouseover-x',
      'rule-hostile-evidence-2',
    ]);
  });
});

describe('renderHtml when nothing failed', () => {
  it('reports health only because rules passed', () => {
    const report = realisticReport();
    report.rules = report.rules.filter((rule) => rule.verdict !== 'fail');
    const html = renderHtml(report);
    expect(html).toContain('<p class="allclear pass">No rule failed; 2 rules could not be evaluated.</p>');
    expect(html).not.toContain('<article class="finding');
  });
});

describe('renderHtml on a minimal report', () => {
  const html = renderHtml(minimalReport());

  it('renders the empty states and the bundle error', () => {
    expect(tallyCounts(html)).toEqual({ critical: 0, warning: 0, info: 0, passed: 0, notEvaluated: 0 });
    expect(html).toContain('<p class="allclear ne">No rule was run.</p>');
    expect(html).toContain('<p class="empty">No rule was run.</p>');
    expect(html).toContain('No file could be read from the bundle.');
    expect(html).toContain('<code class="nw">ENDIAG_NOT_AN_ARCHIVE</code>');
    expect(html).toContain('<dt>Identity</dt><dd>not found in the bundle</dd>');
    expect(html).toContain('<span class="node-name">garbage.bin</span>');
    expect(html).not.toContain('<svg class="bar"');
  });

  it('survives counts that are not numbers', () => {
    const report = minimalReport();
    report.summary.critical = Number.NaN;
    report.bundle.inventory.push({ path: 'x', bytes: -1, state: 'read' });
    const out = renderHtml(report);
    expect(tallyCounts(out).critical).toBe(0);
    expect(out).toContain('<td class="num" title="-1 bytes">?</td>');
  });
});

describe('templates', () => {
  it('use triple braces only for our own stylesheet', () => {
    for (const file of readdirSync(templatesDir).filter((name) => name.endsWith('.hbs'))) {
      const source = readFileSync(join(templatesDir, file), 'utf8');
      const raw = source.match(/\{\{\{[^}]*\}\}\}|\{\{&[^}]*\}\}/g) ?? [];
      // The page templates insert our own stylesheet raw (its hash is in the CSP); nothing else may be unescaped.
      expect(raw, file).toEqual(['report.html.hbs', 'fleet.html.hbs'].includes(file) ? ['{{{css}}}'] : []);
    }
  });

  it('keep the stylesheet free of anything that loads or closes the style element', () => {
    const css = readFileSync(join(templatesDir, 'report.css'), 'utf8');
    expect(css).not.toMatch(/url\(|@import|@font-face|<\/style/i);
  });
});

describe('lineRanges', () => {
  it.each([
    [[4], 'line 4'],
    [[2, 3, 4, 5], 'lines 2–5'],
    [[86405, 84117, 84118, 84119, 86402], 'lines 84117–84119, 86402 and 86405'],
    [[7, 7, 9], 'lines 7 and 9'],
    [[], ''],
  ])('%j -> %s', (lines, expected) => {
    expect(lineRanges(lines)).toBe(expected);
  });
});

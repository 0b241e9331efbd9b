import { describe, expect, it } from 'vitest';
import { hostileReport, hostileStrings, minimalReport, realisticReport } from './fixtures.ts';
import { codeSpan, escapeMarkdown, fencedBlock, MARKDOWN_MAX_LINE, renderMarkdown } from './markdown.ts';

interface Fenced {
  fence: string;
  info: string;
  lines: string[];
}

/** Splits Markdown into fenced code blocks and the rest, by CommonMark's fence rules (indent up to 3, plus list indent). */
function parseFences(markdown: string): { blocks: Fenced[]; outside: string[] } {
  const blocks: Fenced[] = [];
  const outside: string[] = [];
  let open: (Fenced & { indent: number }) | undefined;
  for (const line of markdown.split('\n')) {
    if (open) {
      const close = new RegExp(`^ *\`{${open.fence.length},}\\s*$`);
      if (close.test(line)) {
        blocks.push(open);
        open = undefined;
      } else {
        open.lines.push(line.slice(open.indent));
      }
      continue;
    }
    const start = /^( *)(`{3,})([^`]*)$/.exec(line);
    if (start) {
      open = { indent: start[1]?.length ?? 0, fence: start[2] ?? '', info: start[3] ?? '', lines: [] };
    } else {
      outside.push(line);
    }
  }
  expect(open, 'every fence is closed').toBeUndefined();
  return { blocks, outside };
}

/** Removes code spans (a backtick run up to the next run of the same length) and backslash escapes. */
function proseOnly(line: string): string {
  let out = '';
  let index = 0;
  while (index < line.length) {
    const char = line[index];
    if (char === '\\') {
      out += '·';
      index += 2;
      continue;
    }
    if (char === '`') {
      const run = /^`+/.exec(line.slice(index))?.[0] ?? '`';
      const rest = line.slice(index + run.length);
      const close = [...rest.matchAll(/`+/g)].find((match) => match[0].length === run.length);
      if (close?.index !== undefined) {
        out += '«code»';
        index += run.length + close.index + run.length;
        continue;
      }
      out += run;
      index += run.length;
      continue;
    }
    out += char;
    index += 1;
  }
  return out;
}

describe('renderMarkdown on a realistic report', () => {
  const report = realisticReport();
  const markdown = renderMarkdown(report);
  const { blocks } = parseFences(markdown);

  it('starts with the node and the counts', () => {
    expect(markdown.split('\n').slice(0, 3)).toEqual([
      '## eks-node-diag: ip-10-0-1-23.ec2.internal (`i-0a1b2c3d4e5f60718`)',
      '',
      '**1 critical · 1 warning · 0 info · 2 passed · 2 not evaluated** (6 rules)',
    ]);
    expect(markdown).toContain('> **The bundle has 2 problems;** see Bundle errors below.');
  });

  it('gives each fail a heading, its summary with code spans and its facts', () => {
    expect(markdown).toContain('### CRITICAL `kubelet-probe-failures`: Health probes of a kube-system pod are failing');
    expect(markdown).toContain('failures of `kube-system/aws-node-x7k2p` between 09:41');
    expect(markdown).toContain('- Restarts: **3 (09:52:14, 10:01:31, 10:09:02)** (`kubelet/kubelet.log:86405`)');
    expect(markdown.indexOf('### CRITICAL')).toBeLessThan(markdown.indexOf('### WARNING'));
  });

  it('quotes evidence in fenced blocks with path:line prefixes and marks the lines that matter', () => {
    const evidence = blocks.filter((block) => block.info === 'text');
    expect(evidence).toHaveLength(2);
    expect(evidence[0]?.lines).toEqual([
      expect.stringMatching(/^> kubelet\/kubelet\.log:84117 {2}Nov 26 09:41:07 .*"Probe failed" probeType="Readiness"/),
      expect.stringMatching(/^> kubelet\/kubelet\.log:84118 {2}/),
      expect.stringMatching(/^ {2}kubelet\/kubelet\.log:84119 {2}/),
      '  ⋮ 2,282 lines not shown',
      expect.stringMatching(/^> kubelet\/kubelet\.log:86402 {2}/),
      '    ↳ 57 more failures like this, to 10:12:44',
      '  ⋮ 2 lines not shown',
      expect.stringMatching(/^> kubelet\/kubelet\.log:86405 {2}/),
    ]);
    expect(evidence[1]?.lines).toContain(
      '> kubelet/kubelet_service.txt (absent)  ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5',
    );
    expect(evidence[1]?.lines).toContain('    ↳ expected in the [Service] section');
  });

  it('renders the table with numeric columns right-aligned', () => {
    expect(markdown).toContain(
      '| Pod | Container | Probe | Failures | First | Last |\n| --- | --- | --- | ---: | --- | --- |',
    );
    expect(markdown).toContain('| kube-system/aws-node-x7k2p | aws-node | Readiness | 47 | 09:41:07 | 10:12:44 |');
  });

  it('numbers remediation steps and puts trailing commands in indented sh blocks', () => {
    const commands = blocks.filter((block) => block.info === 'sh');
    expect(commands.map((block) => block.lines)).toEqual([
      ['kubectl -n kube-system get pod aws-node-x7k2p -o wide'],
      ['kubectl -n kube-system logs aws-node-x7k2p -c aws-node --previous --tail=100'],
      ['sudo iptables -P FORWARD ACCEPT -w 5'],
    ]);
    expect(markdown).toContain(
      '2. Check that aws-node is ready now and its restart count no longer grows:\n\n   ```sh\n',
    );
    expect(markdown).toContain(
      '4. If aws-node has a CPU limit, remove it (`kubectl -n kube-system edit daemonset aws-node`);',
    );
    expect(markdown).toContain('**Why it matters:** aws-node assigns IP addresses');
    expect(markdown).toContain(
      '- [VPC CNI troubleshooting guide](<https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md>)',
    );
  });

  it('lists passes with where they were seen, not-evaluated rules with the reason, and bundle errors', () => {
    expect(markdown).toContain(
      '### Passed (2)\n\n- `ip-forward-enabled` IPv4 forwarding is enabled: `net.ipv4.ip_forward = 1`, as pod networking needs. (`sysctls/sysctl_all.txt:1187`)',
    );
    expect(markdown).toContain(
      '- `eni-ip-capacity` ENI IP capacity is not exhausted: Input `ipamd/enis.json` timed out:',
    );
    expect(markdown).toContain('- `ENDIAG_ARCHIVE_TRUNCATED` in `var_log/aws-routed-eni/ipamd.log`: The archive ends');
    expect(markdown.endsWith('64 KiB.\n')).toBe(true);
  });
});

describe('renderMarkdown on hostile bundle text', () => {
  const report = hostileReport();
  const markdown = renderMarkdown(report);
  const { blocks, outside } = parseFences(markdown);

  it('keeps every character that could become markup escaped outside code', () => {
    for (const line of outside) {
      // Our own reference links are the one place a bracket may stand unescaped; their titles may not.
      const text = line.replace(/^- \[(.*)\]\(<https?:[^>\s]*>\)$/, '- $1');
      const prose = proseOnly(text).replace(/^(?:#{1,6} |> |- |\d+\. )/, '');
      expect(prose, line).not.toMatch(/[<>[\]~&]/);
    }
    expect(markdown).toContain('\\<script\\>alert(1)\\</script\\>');
    expect(markdown).toContain('\\[click me\\](javascript:alert(1))');
    expect(markdown).toContain('\\*stars\\*');
  });

  it('keeps bundle text inside code spans verbatim but inert', () => {
    expect(markdown).toContain('`code <script>alert(1)</script>`');
    expect(markdown).toContain('(`data:text/html,<script>alert(1)</script>`)');
  });

  it('never lets evidence close its fence early', () => {
    const evidence = blocks.find((block) => block.info === 'text');
    expect(evidence?.fence).toBe('`````');
    expect(evidence?.lines).toHaveLength(6);
    expect(evidence?.lines.at(-1)).toBe(
      '  var_log/"><svg onload=alert(1)>/<img src=x onerror=alert(1)>.log:4  fence ```` ``` ` inside\\nnewline',
    );
  });

  it('cuts the 100 KB line', () => {
    const evidence = blocks.find((block) => block.info === 'text');
    const first = evidence?.lines[0] ?? '';
    expect(first.length).toBeLessThan(MARKDOWN_MAX_LINE + 100);
    expect(evidence?.lines[1]).toMatch(/^ {4}… [\d,]+ more characters not shown$/);
    expect(markdown.length).toBeLessThan(10_000);
  });

  it('writes no control character and shows them as escapes', () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(markdown).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(markdown).toContain('\\x1b[2J\\x1b[H\\x1b[31mRED\\x1b[0m\\x1b]0;pwned\\x07\\x9b31m \\u202etxt.exe');
  });

  it('keeps table rows to their columns whatever the cells hold', () => {
    const rows = outside.filter((line) => line.startsWith('| '));
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      const unescapedPipes = [...row.matchAll(/(?<!\\)\|/g)].length;
      expect(unescapedPipes, row).toBe(3);
    }
  });

  it('links only web references', () => {
    expect(markdown).not.toMatch(/(?<!\\)\]\(<?(?:javascript|data):/);
    expect(markdown).toContain('- [Fine](<https://example.com/?q=%3Cscript%3E>)');
    expect(markdown).toContain('(`javascript:alert(1)`)');
  });

  it('shows template syntax as text', () => {
    expect(markdown).toContain('{{constructor}}');
  });
});

describe('renderMarkdown on a minimal report', () => {
  it('says nothing failed and lists the bundle error', () => {
    expect(renderMarkdown(minimalReport())).toBe(
      [
        '## eks-node-diag: garbage.bin',
        '',
        '**0 critical · 0 warning · 0 info · 0 passed · 0 not evaluated** (0 rules)',
        '',
        'Bundle `garbage.bin` (unrecognised layout), analyzed 2026-11-26 10:21:47 UTC by eks-node-diag 0.1.0.',
        '',
        '> **The bundle has 1 problem;** see Bundle errors below.',
        '',
        'No rule was run.',
        '',
        '### Bundle errors (1)',
        '',
        '- `ENDIAG_NOT_AN_ARCHIVE`: garbage.bin is neither a gzip stream nor a tar archive.',
        '',
      ].join('\n'),
    );
  });
});

describe('Markdown building blocks', () => {
  it.each([
    ['plain', 'a b', '`a b`'],
    ['one backtick inside', 'a`b', '``a`b``'],
    ['starts with a backtick', '`a', '`` `a ``'],
    ['run of three', 'x```y', '````x```y````'],
    ['spaces both ends', ' a ', '`  a  `'],
  ])('codeSpan: %s', (_name, text, expected) => {
    expect(codeSpan(text)).toBe(expected);
  });

  it('fencedBlock makes the fence longer than any backtick run', () => {
    expect(fencedBlock(['a', '````'], 'text', '  ')).toBe('  `````text\n  a\n  ````\n  `````');
    expect(fencedBlock([])).toBe('```\n```');
  });

  it.each([
    ['# not a heading', '\\# not a heading'],
    ['- not a list', '\\- not a list'],
    ['1. not a list', '1\\. not a list'],
    ['see https://evil.test/x and www.evil.test', 'see https\\://evil.test/x and www\\.evil.test'],
    ['a_b*c~d|e&f\\g', 'a\\_b\\*c\\~d\\|e\\&f\\\\g'],
    ['![img](x)', '!\\[img\\](x)'],
  ])('escapeMarkdown(%j)', (text, expected) => {
    expect(escapeMarkdown(text)).toBe(expected);
  });

  it('escapes a hostile string completely', () => {
    expect(escapeMarkdown(hostileStrings.img)).toBe('\\<img src=x onerror=alert(1)\\>');
  });
});

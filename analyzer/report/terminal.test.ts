import { describe, expect, it } from 'vitest';
import { hostileReport, minimalReport, realisticReport } from './fixtures.ts';
import { renderTerminal } from './terminal.ts';

/** Our own SGR sequences: bold, dim, their reset, four colours and the colour reset. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the sequences start with ESC
const OUR_SGR = /\u001b\[(?:1|2|22|31|32|33|34|39)m/g;

describe('renderTerminal on a realistic report', () => {
  const report = realisticReport();
  const plain = renderTerminal(report, { color: false });

  it('prints identity, counts, one line per fail and not-evaluated rule, and the bundle errors', () => {
    expect(plain.split('\n')).toEqual([
      'ip-10-0-1-23.ec2.internal · i-0a1b2c3d4e5f60718 · m5.large · us-east-1a · kubelet v1.31.2-eks-94953ac · VPC CNI v1.19.2-eksbuild.1',
      '1 critical · 1 warning · 0 info · 2 passed · 2 not evaluated (6 rules)',
      expect.stringMatching(/^ {2}CRITICAL {2}kubelet-probe-failures {2}Kubelet recorded 47 readiness and 12 liveness/),
      expect.stringMatching(/^ {2}WARNING {3}forward-policy-drop {5}The filter table's FORWARD chain drops/),
      expect.stringMatching(/^ {2}NOT EVAL {2}eni-ip-capacity {9}Input `ipamd\/enis.json` timed out:/),
      expect.stringMatching(
        /^ {2}NOT EVAL {2}ipamd-log-errors {8}Input `var_log\/aws-routed-eni\/ipamd.log` is truncated/,
      ),
      'Bundle errors (2):',
      expect.stringMatching(/^ {2}ENDIAG_ARCHIVE_TRUNCATED {2}var_log\/aws-routed-eni\/ipamd.log: The archive ends/),
      '  ENDIAG_LONG_LINES         kubelet/kubelet.log: 3 lines are longer than 64 KiB and were cut at 64 KiB.',
      '',
    ]);
  });

  it('writes no escape sequence without colour', () => {
    expect(plain).not.toContain('\u001b');
  });

  it('colours severity labels and counts when asked', () => {
    const colored = renderTerminal(report, { color: true });
    expect(colored).toContain('\u001b[31mCRITICAL\u001b[39m');
    expect(colored).toContain('\u001b[33mWARNING \u001b[39m');
    expect(colored).toContain('\u001b[1mip-10-0-1-23.ec2.internal\u001b[22m');
    expect(colored).toContain('\u001b[31m1 critical\u001b[39m · \u001b[33m1 warning\u001b[39m · 0 info');
    expect(colored.replace(OUR_SGR, '')).toBe(plain);
  });
});

describe('renderTerminal on hostile bundle text', () => {
  const report = hostileReport();

  it.each([false, true])('lets no bundle escape sequence or control character through (color: %s)', (color) => {
    const out = renderTerminal(report, { color }).replace(OUR_SGR, '');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it('keeps one line per item even when bundle text holds line breaks', () => {
    const lines = renderTerminal(report, { color: false }).trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toBe('<script>alert(1)</script> · <img src=x onerror=alert(1)> · {{constructor}}');
    expect(lines[3]).toBe('  NOT EVAL  hostile-not-evaluated  Input <script>alert(1)</script> failed: RED');
    expect(lines[5]).toBe(
      '  ENDIAG_UNSAFE_MEMBER_NAME  ../../etc/<script>alert(1)</script>  RED: Member name escapes the bundle: [click me](javascript:alert(1))',
    );
  });

  it('cuts long bundle text', () => {
    const long = hostileReport();
    const rule = long.rules[0];
    if (!rule) throw new Error('fixture has rules');
    rule.summary = `${'x'.repeat(100_000)}\u001b[2J`;
    const line = renderTerminal(long, { color: false }).split('\n')[2] ?? '';
    expect(line.length).toBeLessThan(400);
    expect(line.endsWith('x…')).toBe(true);
  });
});

describe('renderTerminal when nothing failed', () => {
  it('says so in green only when a rule passed', () => {
    const report = realisticReport();
    report.rules = report.rules.filter((rule) => rule.verdict !== 'fail');
    const lines = renderTerminal(report, { color: true }).split('\n');
    expect(lines[2]).toBe('  \u001b[32mNo rule failed; 2 rules could not be evaluated.\u001b[39m');
    expect(lines[3]).toMatch(/NOT EVAL.*eni-ip-capacity/);
  });
});

describe('renderTerminal on a minimal report', () => {
  it('says no rule failed and shows the bundle error', () => {
    expect(renderTerminal(minimalReport(), { color: false })).toBe(
      [
        'garbage.bin',
        '0 critical · 0 warning · 0 info · 0 passed · 0 not evaluated (0 rules)',
        '  No rule was run.',
        'Bundle errors (1):',
        '  ENDIAG_NOT_AN_ARCHIVE  garbage.bin is neither a gzip stream nor a tar archive.',
        '',
      ].join('\n'),
    );
  });
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeBundle } from '../engine/analyze-bundle.ts';
import type { Report } from '../report/model.ts';
import evidenceCoverage from './evidence-coverage.ts';
import forwardPolicyDrop from './forward-policy-drop.ts';
import kubeletProbeFailures from './kubelet-probe-failures.ts';

// evidence-coverage judges the other rules' outcomes, so it is tested with real neighbours rather than ruleTester.
async function analyzeFiles(files: Record<string, string>): Promise<Report> {
  const root = await mkdtemp(join(tmpdir(), 'coverage-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
    return await analyzeBundle(root, { rules: [forwardPolicyDrop, kubeletProbeFailures, evidenceCoverage] });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const coverage = (report: Report) => report.rules.find((rule) => rule.id === 'evidence-coverage');

describe('rule evidence-coverage', () => {
  it('passes when every other rule reached a verdict', async () => {
    const report = await analyzeFiles({
      'networking/iptables-save.txt': '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n',
      'kubelet/kubelet.log': '-- No entries --\n',
    });
    expect(coverage(report)).toMatchObject({ verdict: 'pass', messageId: 'complete' });
    expect(coverage(report)?.summary).toContain('Every one of the 2 other rules');
  });

  it('fails, naming the blind rules and why, in a stock bundle run with --ignore_introspection', async () => {
    const report = await analyzeFiles({
      'kubelet/kubelet.log': '-- No entries --\n',
      'ipamd/ipam_introspection_ignore.txt': 'Ignoring IPAM introspection stats as mentioned\n',
    });
    const result = coverage(report);
    expect(result).toMatchObject({ verdict: 'fail', messageId: 'gaps', severity: 'warning' });
    expect(result?.summary).toContain('1 of 2 rules could not conclude');
    expect(result?.tables[0]?.rows[0]).toEqual([
      'forward-policy-drop',
      expect.stringContaining('networking/iptables-save.txt'),
    ]);
    expect(result?.evidence[0]).toMatchObject({ path: 'ipamd/ipam_introspection_ignore.txt', line: 1 });
    expect(result?.facts.map((fact) => fact.value)).toContain('introspection was skipped (--ignore_introspection)');
  });

  it('lists silent endpoints as blind spots', async () => {
    const report = await analyzeFiles({
      'networking/iptables-save.txt': '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n',
      'kubelet/kubelet.log': '-- No entries --\n',
      'ipamd/enis.json': '\n',
    });
    const result = coverage(report);
    expect(result?.verdict).toBe('pass');
    expect(result?.facts.map((fact) => fact.value)).toContain(
      'ipamd/enis.json is empty: the introspection endpoint did not answer',
    );
  });
});

/**
 * Every sample bundle in samples/bundles yields the verdicts its scenario declares for the headline rules, and a
 * stock bundle with files missing says not-evaluated with the missing input named, never a false pass.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeBundle } from '../analyzer/engine/analyze-bundle.ts';
import type { Report } from '../analyzer/report/model.ts';
import { rules } from '../analyzer/rules/index.ts';
import { scenarios } from '../samples/scenarios/index.ts';
import { scenarioNames as simScenarioNames, scenarios as simScenarios } from './sim/scenarios.ts';

const bundle = (name: string) => join(import.meta.dirname, '..', 'samples', 'bundles', `${name}.tar.gz`);
const reports = new Map<string, Promise<Report>>();
const reportOf = (name: string) => {
  let report = reports.get(name);
  if (!report) {
    report = analyzeBundle(bundle(name), { rules, sourceName: `${name}.tar.gz` });
    reports.set(name, report);
  }
  return report;
};

describe.each(scenarios.map((scenario) => [scenario.name, scenario] as const))('sample %s', (name, scenario) => {
  it('reads without bundle errors in the declared layout', async () => {
    const report = await reportOf(name);
    expect(report.bundle.errors).toEqual([]);
    expect(report.bundle.layout).toBe(scenario.layout);
  });

  it.each(Object.entries(scenario.expected))('%s is %s', async (ruleId, verdict) => {
    const result = (await reportOf(name)).rules.find((rule) => rule.id === ruleId);
    expect(result?.verdict, result?.reason ?? result?.summary).toBe(verdict);
    if (verdict === 'fail') expect(result?.evidence.length).toBeGreaterThan(0);
    if (verdict === 'not-evaluated') expect(result?.reason).toMatch(/\S/);
  });

  it('no rule crashed', async () => {
    const crashed = (await reportOf(name)).rules.filter((rule) => /internal error/.test(rule.reason ?? ''));
    expect(crashed.map((rule) => `${rule.id}: ${rule.reason}`)).toEqual([]);
  });
});

describe('stock bundle with files missing', () => {
  it('names the missing inputs instead of passing', async () => {
    const report = await reportOf('stock-missing-files');
    const forward = report.rules.find((rule) => rule.id === 'forward-policy-drop');
    expect(forward?.reason).toContain('networking/iptables-save.txt');
    const cpu = report.rules.find((rule) => rule.id === 'cpu-starvation');
    expect(cpu?.reason).toMatch(/system\/top\.txt/);
  });
});

describe('aws-node CPU starvation sample', () => {
  it('counts multi-line grpc-health-probe outputs as timeouts', async () => {
    const report = await reportOf('aws-node-cpu-starvation');
    const probes = report.rules.find((rule) => rule.id === 'kubelet-probe-failures');
    const awsNodeRows = probes?.tables[0]?.rows.filter((row) => row[0]?.startsWith('kube-system/aws-node-')) ?? [];
    expect(awsNodeRows.length).toBeGreaterThan(0);
    for (const row of awsNodeRows) expect(Number(row[4]), `timeouts of ${row.join(' | ')}`).toBe(Number(row[3]));
  });
});

describe('bundles the real agent collected on simulated nodes (samples/agent, `npm run samples:agent`)', () => {
  it.each(simScenarioNames.map((name) => [name]))('%s yields its declared verdicts', async (name) => {
    const report = await analyzeBundle(join(import.meta.dirname, '..', 'samples', 'agent', `${name}.tar.gz`), {
      rules,
    });
    expect(report.bundle.layout).toBe('eks-node-diag');
    expect(report.bundle.errors).toEqual([]);
    const expected = simScenarios[name].expected;
    const verdicts = Object.fromEntries(
      Object.keys(expected).map((id) => [id, report.rules.find((rule) => rule.id === id)?.verdict]),
    );
    expect(verdicts).toEqual(expected);
  });
});

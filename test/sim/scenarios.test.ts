/**
 * Each scenario's declared verdicts hold for the data its world really produces, independently of the agent:
 * the inputs are gathered by hand the way the stock collector would (iptables-save in the namespace, journalctl
 * over the journal files, `systemctl cat`-style unit text, /proc and cgroup files), laid out at their canonical
 * bundle paths and judged by the analyzer's own rules. When the agent's e2e test disagrees with a scenario, this
 * test says whether the scenario or the agent is wrong.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRuleOnFiles } from '../../analyzer/engine/rule-tester.ts';
import { ruleById, rules } from '../../analyzer/rules/index.ts';
import { bundlePaths } from '../../contract/bundle.ts';
import { systemctlCat } from '../../samples/lib/kubelet-files.ts';
import { httpGetArgv, parseProbe } from './http-probe.ts';
import { run } from './namespace.ts';
import { simulationAvailable } from './prerequisites.ts';
import { type ExpectedRuleId, type ScenarioName, scenarioNames, scenarios } from './scenarios.ts';
import { createNodeWorld, type NodeWorld } from './world.ts';

const KUBELET_UNIT = 'etc/systemd/system/kubelet.service';

/** What `systemctl cat kubelet` prints: the unit, then its drop-ins in name order, each under a `# /path` header. */
function kubeletUnitText(root: string): string {
  const dropInDir = `${KUBELET_UNIT}.d`;
  const dropIns = existsSync(join(root, dropInDir))
    ? readdirSync(join(root, dropInDir))
        .sort()
        .map((name) => `${dropInDir}/${name}`)
    : [];
  return systemctlCat(
    [KUBELET_UNIT, ...dropIns].map((path) => ({ path: `/${path}`, content: readFileSync(join(root, path), 'utf8') })),
  );
}

async function collectByHand(world: NodeWorld): Promise<Record<string, string>> {
  const read = (path: string) => readFileSync(join(world.root, path), 'utf8');
  const get = async (target: string | undefined, path: string) => {
    const result = parseProbe(await world.exec(httpGetArgv(target ?? '', path)));
    if ('error' in result) throw new Error(`${path}: ${result.error}`);
    return result.body;
  };
  const introspection = world.introspection.url;
  const saved = await world.exec(['iptables-save', '-c']);
  const journal = await run([
    'journalctl',
    '--directory',
    world.journalDirectory,
    '-u',
    'kubelet',
    '-o',
    'short-iso',
    '--no-pager',
  ]);
  return {
    [bundlePaths['iptables-save']]: `${saved.stdout}${saved.stderr}`,
    [bundlePaths['kubelet-log']]: journal.stdout,
    [bundlePaths['kubelet-unit']]: kubeletUnitText(world.root),
    [bundlePaths['proc-loadavg']]: read('proc/loadavg'),
    [bundlePaths['proc-stat']]: read('proc/stat'),
    [bundlePaths['proc-meminfo']]: read('proc/meminfo'),
    [bundlePaths['psi-cpu']]: read('proc/pressure/cpu'),
    [bundlePaths['psi-memory']]: read('proc/pressure/memory'),
    [bundlePaths['cgroup-aws-node-cpu-stat']]: read(join('sys/fs/cgroup', world.awsNodeCgroup, 'cpu.stat')),
    [bundlePaths['cgroup-kubepods-cpu-stat']]: read('sys/fs/cgroup/kubepods.slice/cpu.stat'),
    [bundlePaths['ipamd-log']]: read('var/log/aws-routed-eni/ipamd.log'),
    [bundlePaths['plugin-log']]: read('var/log/aws-routed-eni/plugin.log'),
    [bundlePaths['ipamd-checkpoint']]: read('var/run/aws-node/ipam.json'),
    [bundlePaths['cni-conflist']]: read('etc/cni/net.d/10-aws.conflist'),
    [bundlePaths['ipamd-enis']]: await get(introspection, '/v1/enis'),
    [bundlePaths['ipamd-eni-configs']]: await get(introspection, '/v1/eni-configs'),
    [bundlePaths['ipamd-env']]: await get(introspection, '/v1/ipamd-env-settings'),
    [bundlePaths['ipamd-networkutils-env']]: await get(introspection, '/v1/networkutils-env-settings'),
    [bundlePaths['ipamd-metrics']]: await get(world.metrics.url, '/metrics'),
  };
}

const available = simulationAvailable();

/** Rules a scenario states a verdict for that the catalog already has; the others wait for their rule. */
const judged = (
  ['forward-policy-drop', 'kubelet-probe-failures', 'cpu-starvation', 'ip-address-exhaustion'] as const
).filter((id: ExpectedRuleId) => ruleById(id) !== undefined);

describe.runIf(available)('scenario verdicts on hand-collected world data', () => {
  const files = new Map<ScenarioName, Record<string, string>>();
  const worlds: NodeWorld[] = [];

  beforeAll(async () => {
    worlds.push(...(await Promise.all(scenarioNames.map((name) => createNodeWorld(name)))));
    for (const world of worlds) files.set(world.scenario.name, await collectByHand(world));
  });

  afterAll(async () => {
    await Promise.all(worlds.map((world) => world.dispose()));
  });

  it('judges the three headline rules the catalog has', () => {
    expect(judged).toEqual(expect.arrayContaining(['forward-policy-drop', 'kubelet-probe-failures', 'cpu-starvation']));
  });

  describe.each(scenarioNames)('%s', (name) => {
    it.each(judged)('%s', async (ruleId) => {
      const rule = ruleById(ruleId);
      if (!rule) throw new Error(`rule ${ruleId} vanished from the catalog`);
      const result = await runRuleOnFiles(rule, files.get(name) ?? {});
      expect({ rule: ruleId, verdict: result.verdict, summary: result.summary }).toMatchObject({
        rule: ruleId,
        verdict: scenarios[name].expected[ruleId],
      });
    });
  });

  it('fails no rule of the catalog on the healthy node', async () => {
    const failures: string[] = [];
    for (const rule of rules) {
      const result = await runRuleOnFiles(rule, files.get('healthy') ?? {});
      if (result.verdict === 'fail') failures.push(`${rule.meta.id}: ${result.summary}`);
    }
    expect(failures).toEqual([]);
  });

  it('shows FORWARD DROP with its counters as the evidence on the custom AMI', async () => {
    const rule = ruleById('forward-policy-drop');
    if (!rule) throw new Error('forward-policy-drop is not in the catalog');
    const result = await runRuleOnFiles(rule, files.get('forward-drop-custom-ami') ?? {});
    expect(result.severity).toBe('critical');
    expect(result.evidence[0]?.text).toBe(':FORWARD DROP [48213:3085632]');
    expect(result.summary).toContain('does not run `iptables -P FORWARD ACCEPT`');
  });

  it('blames aws-node for the probe failures under CPU starvation', async () => {
    const rule = ruleById('kubelet-probe-failures');
    if (!rule) throw new Error('kubelet-probe-failures is not in the catalog');
    const result = await runRuleOnFiles(rule, files.get('aws-node-cpu-starvation') ?? {});
    expect(result.severity).toBe('critical');
    expect(result.summary).toMatch(/aws-node \(the VPC CNI\) failed 45 probes/);
  });
});

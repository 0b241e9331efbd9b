/**
 * Proves the simulated nodes are real: rules that iptables-save reads back from the world's own network namespace,
 * introspection and metrics answered over sockets inside it (and unreachable from outside), journal files that
 * journalctl reads, and a --root tree whose files parse. Also the fault modes, and that nothing outlives dispose().
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportText } from './content/journal.ts';
import { httpGetArgv, parseProbe } from './http-probe.ts';
import { namespaceExists, run } from './namespace.ts';
import { simulationAvailable } from './prerequisites.ts';
import { type ScenarioName, scenarioByName, scenarioNames, scenarios } from './scenarios.ts';
import { createNodeWorld, type NodeWorld } from './world.ts';

const INTROSPECTION = 'http://127.0.0.1:61679';
const METRICS = 'http://127.0.0.1:61678';
const SERVER_SCRIPT = join(import.meta.dirname, 'ipamd-server.ts');

async function getInside(world: NodeWorld, target: string, path: string, timeoutMs = 5000) {
  return parseProbe(await world.exec(httpGetArgv(target, path, timeoutMs)));
}

function jsonBody(result: Awaited<ReturnType<typeof getInside>>): unknown {
  if ('error' in result) throw new Error(`request failed: ${result.error}`);
  expect(result.status).toBe(200);
  return JSON.parse(result.body);
}

function metricValue(exposition: string, name: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const available = simulationAvailable();

describe.runIf(available)('simulated node worlds', () => {
  const worlds = new Map<ScenarioName, NodeWorld>();
  const world = (name: ScenarioName) => {
    const found = worlds.get(name);
    if (!found) throw new Error(`world ${name} was not built`);
    return found;
  };

  beforeAll(async () => {
    const built = await Promise.all(scenarioNames.map((name) => createNodeWorld(name)));
    for (const item of built) worlds.set(item.scenario.name, item);
  });

  afterAll(async () => {
    await Promise.all([...worlds.values()].map((item) => item.dispose()));
  });

  describe.each(scenarioNames)('%s', (name) => {
    const scenario = scenarioByName(name);

    it('holds the scenario FORWARD policy and counters in real iptables inside its namespace', async () => {
      const saved = await world(name).exec(['iptables-save', '-c']);
      expect(saved.exitCode).toBe(0);
      const filter = saved.stdout.slice(saved.stdout.indexOf('*filter'));
      const { packets, bytes } = scenario.iptables.forwardPolicyCounters;
      expect(filter).toContain(`\n:FORWARD ${scenario.iptables.forwardPolicy} [${packets}:${bytes}]\n`);
      expect(saved.stdout).toMatch(/-A AWS-SNAT-CHAIN-0 .* -j SNAT --to-source 10\.0\.\d+\.\d+ --random-fully/);
      expect(saved.stdout).toContain('-j KUBE-FORWARD');
      const listing = await world(name).exec(['iptables', '-t', 'filter', '-nvxL', 'FORWARD']);
      expect(listing.stdout).toContain(`Chain FORWARD (policy ${scenario.iptables.forwardPolicy} ${packets} packets`);
    });

    it('serves /v1/enis in the per-network-card shape from inside the namespace', async () => {
      const enis = jsonBody(await getInside(world(name), INTROSPECTION, '/v1/enis')) as Record<
        string,
        { TotalIPs: number; AssignedIPs: number; ENIs: Record<string, { DeviceNumber: number; IsPrimary: boolean }> }
      >;
      expect(Object.keys(enis)).toEqual(['0']);
      const card = enis['0'];
      expect(card?.TotalIPs).toBe(scenario.ipam.attachedEnis * (scenario.ipam.ipv4PerEni - 1));
      expect(card?.AssignedIPs).toBe(world(name).story.pods.length);
      const devices = Object.values(card?.ENIs ?? {}).map((eni) => eni.DeviceNumber);
      expect(devices.sort()).toEqual([...Array(scenario.ipam.attachedEnis).keys()]);
      expect(Object.values(card?.ENIs ?? {}).filter((eni) => eni.IsPrimary)).toHaveLength(1);
    });

    it('answers the other introspection paths as ipamd does', async () => {
      const root = jsonBody(await getInside(world(name), INTROSPECTION, '/')) as { AvailableCommands: string[] };
      expect([...root.AvailableCommands].sort()).toEqual([
        '/v1/eni-configs',
        '/v1/enis',
        '/v1/ipamd-env-settings',
        '/v1/networkutils-env-settings',
      ]);
      expect(jsonBody(await getInside(world(name), INTROSPECTION, '/v1/pods'))).toEqual(root);
      expect(jsonBody(await getInside(world(name), INTROSPECTION, '/v1/eni-configs'))).toBe('default');
      expect(jsonBody(await getInside(world(name), INTROSPECTION, '/v1/ipamd-env-settings'))).toMatchObject({
        WARM_ENI_TARGET: scenario.ipam.warmEniTarget,
      });
      const networkutils = jsonBody(await getInside(world(name), INTROSPECTION, '/v1/networkutils-env-settings'));
      expect(Object.keys(networkutils as object)).toHaveLength(8);
    });

    it('serves awscni metrics with Go and process collectors on :61678', async () => {
      const result = await getInside(world(name), METRICS, '/metrics');
      if ('error' in result) throw new Error(result.error);
      expect(result.contentType).toContain('text/plain; version=0.0.4');
      expect(metricValue(result.body, 'awscni_total_ip_addresses')).toBe(
        scenario.ipam.attachedEnis * (scenario.ipam.ipv4PerEni - 1),
      );
      expect(metricValue(result.body, 'awscni_no_available_ip_addresses')).toBe(
        scenario.ipExhaustion?.failedAssignments ?? 0,
      );
      expect(result.body).toContain('# TYPE awscni_aws_api_latency_ms summary');
      expect(metricValue(result.body, 'go_goroutines')).toBeGreaterThan(0);
      expect(metricValue(result.body, 'process_start_time_seconds')).toBeGreaterThan(0);
      const notFound = await getInside(world(name), METRICS, '/v1/enis');
      expect(notFound).toMatchObject({ status: 404, body: '404 page not found\n' });
    });

    it('has a real journal that journalctl reads, with the scenario kubelet story', async () => {
      const kubelet = await run([
        'journalctl',
        '--directory',
        world(name).journalDirectory,
        '-u',
        'kubelet',
        '--no-pager',
        '-o',
        'short-iso',
      ]);
      expect(kubelet.exitCode).toBe(0);
      expect(kubelet.stdout).toContain('Started kubelet.service - Kubernetes Kubelet.');
      expect(kubelet.stdout).toContain(`kubelet[${scenario.node.kubeletPid}]: I`);
      const probeFailures = kubelet.stdout.split('\n').filter((line) => line.includes('"Probe failed"'));
      const expected =
        (scenario.probeFailures?.livenessFailures ?? 0) + (scenario.probeFailures?.readinessFailures ?? 0);
      expect(probeFailures).toHaveLength(expected);
      const restarts = kubelet.stdout.split('\n').filter((line) => line.includes('probe, will be restarted'));
      expect(restarts).toHaveLength(scenario.probeFailures?.restarts ?? 0);
      const sandboxFailures = kubelet.stdout.split('\n').filter((line) => line.includes('] "Failed to create sandbox'));
      expect(sandboxFailures).toHaveLength(scenario.ipExhaustion?.failedAssignments ?? 0);

      // `journalctl --root` finds the same journal through <root>/etc/machine-id.
      const viaRoot = await run([
        'journalctl',
        '--root',
        world(name).root,
        '-u',
        'kubelet',
        '--no-pager',
        '-o',
        'short-iso',
      ]);
      expect(viaRoot.stdout).toBe(kubelet.stdout);

      const containerd = await run(['journalctl', '--directory', world(name).journalDirectory, '-u', 'containerd']);
      expect(containerd.stdout).toContain('containerd successfully booted');
      // The journal spans the node's uptime, so a 24-hour collection window holds all of it.
      const since = await run(['journalctl', '--directory', world(name).journalDirectory, '--since', '-24h', '-q']);
      expect(since.stdout.split('\n').length).toBeGreaterThan(probeFailures.length);
    });

    it('builds a --root tree with the files the agent reads', () => {
      const { root, story } = world(name);
      const read = (path: string) => readFileSync(join(root, path), 'utf8');
      for (const path of [
        'etc/os-release',
        'etc/cni/net.d/10-aws.conflist',
        'etc/systemd/system/kubelet.service',
        'etc/kubernetes/kubelet/config.json',
        'var/lib/kubelet/kubeconfig',
        'proc/loadavg',
        'proc/meminfo',
        'proc/stat',
        'proc/pressure/cpu',
        'proc/pressure/memory',
        'proc/pressure/io',
        'sys/fs/cgroup/kubepods.slice/cpu.stat',
        'sys/fs/cgroup/kubepods.slice/memory.stat',
        `sys/fs/cgroup/${world(name).awsNodeCgroup}/cpu.stat`,
        `sys/fs/cgroup/${world(name).awsNodeCgroup}/cgroup.procs`,
      ]) {
        expect(existsSync(join(root, path)), path).toBe(true);
      }
      expect(JSON.parse(read('etc/cni/net.d/10-aws.conflist')).plugins[0].type).toBe('aws-cni');
      expect(JSON.parse(read('etc/kubernetes/kubelet/config.json')).kind).toBe('KubeletConfiguration');

      const checkpoint = JSON.parse(read('var/run/aws-node/ipam.json'));
      expect(checkpoint.version).toBe('vpc-cni-ipam/1');
      expect(checkpoint.allocations).toHaveLength(story.pods.length);
      expect(checkpoint.allocations[0].containerID).toMatch(/^[0-9a-f]{64}$/);

      for (const log of ['ipamd.log', 'plugin.log', 'network-policy-agent.log']) {
        const lines = read(`var/log/aws-routed-eni/${log}`).trimEnd().split('\n');
        for (const line of lines)
          expect(Object.keys(JSON.parse(line)).slice(0, 4)).toEqual(['level', 'ts', 'caller', 'msg']);
      }
      const noAddress = read('var/log/aws-routed-eni/ipamd.log')
        .split('\n')
        .filter((line) => line.includes('"DataStore has no available IP/Prefix addresses"'));
      expect(noAddress).toHaveLength(scenario.ipExhaustion?.failedAssignments ?? 0);
      const rotated = spawnSync('ls', [join(root, 'var/log/aws-routed-eni')], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((file) => /^ipamd-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log\.gz$/.test(file));
      expect(rotated).toHaveLength(2);
      for (const file of rotated) {
        const text = gunzipSync(readFileSync(join(root, 'var/log/aws-routed-eni', file))).toString('utf8');
        expect(JSON.parse(text.split('\n')[0] ?? '')).toHaveProperty('caller');
      }

      // kubelet's container-log links are absolute, as on a node: they resolve only inside the root.
      const containerLogs = spawnSync('ls', [join(root, 'var/log/containers')], { encoding: 'utf8' }).stdout.trim();
      const awsNodeLink = containerLogs.split('\n').find((file) => file.includes('_kube-system_aws-node-'));
      expect(awsNodeLink).toBeDefined();
      const linkPath = join(root, 'var/log/containers', awsNodeLink ?? '');
      expect(lstatSync(linkPath).isSymbolicLink()).toBe(true);
      const target = readlinkSync(linkPath);
      expect(target.startsWith('/var/log/pods/kube-system_aws-node-')).toBe(true);
      expect(read(target.slice(1))).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z stdout F \{"level":"info"/);
    });
  });

  it('matches each scenario story in the files that show it', () => {
    const unit = (name: ScenarioName) =>
      readFileSync(join(world(name).root, 'etc/systemd/system/kubelet.service'), 'utf8');
    expect(unit('healthy')).toContain('ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5');
    expect(unit('forward-drop-custom-ami')).not.toMatch(/FORWARD/);

    const starved = world('aws-node-cpu-starvation');
    const [load1 = 0] = readFileSync(join(starved.root, 'proc/loadavg'), 'utf8').split(' ').map(Number);
    const cpus = readFileSync(join(starved.root, 'proc/stat'), 'utf8').match(/^cpu\d+ /gm) ?? [];
    expect(cpus).toHaveLength(starved.scenario.node.cpuCount);
    expect(load1 / cpus.length).toBeGreaterThanOrEqual(2);
    expect(readFileSync(join(starved.root, 'proc/pressure/cpu'), 'utf8')).toMatch(/^some avg10=78\.41 avg60=72\.16/);
    const stat = readFileSync(join(starved.root, 'sys/fs/cgroup', starved.awsNodeCgroup, 'cpu.stat'), 'utf8');
    const field = (key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(stat)?.[1]);
    expect(field('nr_throttled') / field('nr_periods')).toBeGreaterThan(0.25);

    const exhausted = world('ip-exhaustion');
    const pids = readFileSync(join(exhausted.root, 'sys/fs/cgroup', exhausted.awsNodeCgroup, 'cgroup.procs'), 'utf8');
    const agentPid = pids.trim().split('\n')[1];
    expect(readFileSync(join(exhausted.root, `proc/${agentPid}/comm`), 'utf8')).toBe('aws-k8s-agent\n');
  });

  it('keeps its servers invisible from the host', async () => {
    const fromHost = parseProbe(await run(httpGetArgv(INTROSPECTION, '/v1/enis', 2000)));
    expect(fromHost).toHaveProperty('error');
    expect(fromHost).not.toHaveProperty('status');
  });

  it('records what was asked of its servers', async () => {
    const healthy = world('healthy');
    const before = healthy.requests().length;
    await getInside(healthy, INTROSPECTION, '/v1/eni-configs');
    expect(healthy.requests().slice(before)).toEqual([
      expect.objectContaining({ server: 'introspection', method: 'GET', url: '/v1/eni-configs' }),
    ]);
  });

  describe('fault modes', () => {
    it('hangs: accepts the connection and never answers, while metrics still serve', async () => {
      const hung = await createNodeWorld('healthy', { introspection: 'hang' });
      try {
        expect(hung.introspection.mode).toBe('hang');
        expect(await getInside(hung, INTROSPECTION, '/v1/enis', 1500)).toEqual({ error: 'timeout' });
        expect(hung.requests()).toEqual([expect.objectContaining({ server: 'introspection', method: 'CONNECT' })]);
        expect(await getInside(hung, METRICS, '/metrics')).toMatchObject({ status: 200 });
      } finally {
        await hung.dispose();
      }
    });

    it('refuses: nothing listens, connections are refused at once (and extra files land in the root)', async () => {
      const refused = await createNodeWorld('healthy', {
        introspection: 'refuse',
        metrics: 'refuse',
        files: { '/etc/eks/planted.env': 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' },
      });
      try {
        expect(readFileSync(join(refused.root, 'etc/eks/planted.env'), 'utf8')).toContain('wJalrXUtnFEMI');
        expect(refused.introspection).toEqual({ mode: 'refuse' });
        expect(await getInside(refused, INTROSPECTION, '/v1/enis')).toEqual({ error: 'ECONNREFUSED' });
        expect(await getInside(refused, METRICS, '/metrics')).toEqual({ error: 'ECONNREFUSED' });
      } finally {
        await refused.dispose();
      }
    });

    it('binds introspection to a unix socket when asked, as INTROSPECTION_BIND_ADDRESS=unix: does', async () => {
      const unix = await createNodeWorld('ip-exhaustion', { introspection: 'unix' });
      try {
        expect(unix.introspection.bindAddress).toBe(`unix:${unix.introspection.socketPath}`);
        const enis = jsonBody(await getInside(unix, unix.introspection.bindAddress ?? '', '/v1/enis'));
        expect(enis).toHaveProperty('0.AssignedIPs', 15);
        expect(await getInside(unix, INTROSPECTION, '/v1/enis')).toEqual({ error: 'ECONNREFUSED' });
      } finally {
        await unix.dispose();
      }
    });

    it('loads legacy-backend rules beside nf_tables ones for a mixed-backend node', async () => {
      const mixed = await createNodeWorld('healthy', { legacyIptables: true });
      try {
        const saved = await mixed.exec(['iptables-save']);
        expect(`${saved.stdout}${saved.stderr}`).toContain('# Warning: iptables-legacy tables present');
        const legacy = await mixed.exec(['iptables-legacy-save']);
        expect(legacy.stdout).toContain(
          '-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets"',
        );
      } finally {
        await mixed.dispose();
      }
    });
  });

  describe('dispose', () => {
    it('kills the servers and removes the namespace and the temp dir, once', async () => {
      const doomed = await createNodeWorld('forward-drop-custom-ami');
      const pids = spawnSync('ip', ['netns', 'pids', doomed.namespace], { encoding: 'utf8' }).stdout.trim().split('\n');
      expect(pids.length).toBeGreaterThan(0);
      expect(namespaceExists(doomed.namespace)).toBe(true);
      await doomed.dispose();
      expect(namespaceExists(doomed.namespace)).toBe(false);
      expect(existsSync(doomed.dir)).toBe(false);
      for (const pid of pids) expect(() => process.kill(Number(pid), 0)).toThrow(/ESRCH/);
      await doomed.dispose();
      await expect(doomed.exec(['true'])).rejects.toThrow(/disposed/);
    });

    it('also kills programs still running inside the namespace', async () => {
      const busy = await createNodeWorld('healthy', { introspection: 'refuse', metrics: 'refuse' });
      const sleeper = busy.spawn(['sleep', '300']);
      await new Promise((resolve) => sleeper.once('spawn', resolve));
      const closed = new Promise((resolve) => sleeper.once('close', resolve));
      await busy.dispose();
      await closed;
      expect(sleeper.signalCode).toBe('SIGKILL');
      expect(namespaceExists(busy.namespace)).toBe(false);
    });

    it('cleans up worlds nobody disposed when the process exits', async () => {
      const script = `import(${JSON.stringify(join(import.meta.dirname, 'world.ts'))}).then(async ({ createNodeWorld }) => {
        const world = await createNodeWorld('healthy');
        console.log(JSON.stringify({ namespace: world.namespace, dir: world.dir }));
        process.exit(0);
      });`;
      const result = await run(['node', '--input-type=module', '-e', script]);
      expect(result.exitCode, result.stderr).toBe(0);
      const { namespace, dir } = JSON.parse(result.stdout) as { namespace: string; dir: string };
      expect(namespace).toMatch(/^eksdiag-[0-9a-f]{8}$/);
      expect(namespaceExists(namespace)).toBe(false);
      expect(existsSync(dir)).toBe(false);
    });

    it('cleans up after itself when building fails, and says so', async () => {
      const failure = await createNodeWorld('healthy', { startTimeoutMs: 1 }).catch((error: Error) => error);
      expect(failure).toBeInstanceOf(Error);
      const message = (failure as Error).message;
      expect(message).toMatch(/^simulated node eksdiag-[0-9a-f]{8} \(healthy\) could not be built/);
      expect(message).toContain('ipamd-server was not ready within 1 ms');
      const namespace = /eksdiag-[0-9a-f]{8}/.exec(message)?.[0] ?? '';
      expect(namespaceExists(namespace)).toBe(false);
      const dir = /and (\/\S+) were removed/.exec(message)?.[1] ?? '';
      expect(dir).toContain('eksdiag-world-');
      expect(existsSync(dir)).toBe(false);
    });
  });
});

describe('scenario catalog', () => {
  it('declares a verdict for every headline rule in every scenario', () => {
    for (const scenario of Object.values(scenarios)) {
      expect(Object.keys(scenario.expected).sort()).toEqual([
        'cpu-starvation',
        'forward-policy-drop',
        'ip-address-exhaustion',
        'kubelet-probe-failures',
      ]);
    }
    expect(scenarios.healthy.expected).toEqual({
      'forward-policy-drop': 'pass',
      'kubelet-probe-failures': 'pass',
      'cpu-starvation': 'pass',
      'ip-address-exhaustion': 'pass',
    });
  });

  it('names the known scenarios when asked for an unknown one', async () => {
    expect(() => scenarioByName('flaky-dns')).toThrow(
      'unknown simulated-node scenario "flaky-dns"; known scenarios: healthy, aws-node-cpu-starvation, forward-drop-custom-ami, ip-exhaustion',
    );
    await expect(createNodeWorld('flaky-dns' as ScenarioName)).rejects.toThrow(/unknown simulated-node scenario/);
  });
});

describe('journal export text', () => {
  it('refuses a field value with a newline, which would need the binary field form', () => {
    expect(() => exportText([{ realtime: 1, fields: { MESSAGE: 'two\nlines' } }])).toThrow(
      'journal field MESSAGE holds a newline: "two\\nlines"',
    );
  });

  it('ends every entry with a blank line, realtime first', () => {
    expect(
      exportText([
        { realtime: 5, fields: { MESSAGE: 'a', _SYSTEMD_UNIT: 'kubelet.service' } },
        { realtime: 6, fields: { MESSAGE: 'b' } },
      ]),
    ).toBe('__REALTIME_TIMESTAMP=5\nMESSAGE=a\n_SYSTEMD_UNIT=kubelet.service\n\n__REALTIME_TIMESTAMP=6\nMESSAGE=b\n\n');
  });
});

describe('ipamd-server.ts', () => {
  it('exits 2 naming the file when the config cannot be read', async () => {
    const result = await run(['node', SERVER_SCRIPT, '/nonexistent/ipamd-server.json']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('ipamd-server: /nonexistent/ipamd-server.json: ENOENT');
  });

  it('lists every problem of a malformed config at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipamd-server-config-'));
    const config = join(dir, 'bad.json');
    writeFileSync(
      config,
      '{"introspection":{"mode":"sleep"},"metrics":{"mode":"serve","listen":{"host":"127.0.0.1"}}}',
    );
    try {
      const result = await run(['node', SERVER_SCRIPT, config]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('introspection.mode must be serve, hang or refuse');
      expect(result.stderr).toContain('metrics.listen needs host and port, or socketPath');
      expect(result.stderr).toContain('routes must be an object');
      expect(result.stderr).toContain('metricsBody must be a string');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('simulationAvailable', () => {
  const missingJournalRemote = () => [
    { name: 'root', ok: true, detail: 'running as root', fix: '' },
    {
      name: 'systemd-journal-remote',
      ok: false,
      detail: 'not found at /lib/systemd/systemd-journal-remote',
      fix: 'apt-get install -y systemd-journal-remote',
    },
  ];

  it('fails a CI run, naming what is missing and the fix', () => {
    expect(() => simulationAvailable({ CI: 'true' }, missingJournalRemote)).toThrow(
      /Missing: systemd-journal-remote \(not found at .*; fix: apt-get install -y systemd-journal-remote\)/,
    );
  });

  it('lets a local run skip, loudly', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(simulationAvailable({}, missingJournalRemote)).toBe(false);
      expect(warn).toHaveBeenCalledWith(
        expect.stringContaining('SKIPPING SIMULATED-NODE TESTS. Missing: systemd-journal-remote'),
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('is true when everything is there', () => {
    expect(simulationAvailable({ CI: 'true' }, () => [{ name: 'root', ok: true, detail: '', fix: '' }])).toBe(true);
  });
});

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleManifest, bundlePaths, MANIFEST_PATH } from '../contract/bundle.ts';
import { ManifestError } from '../samples/lib/manifest.ts';
import { expectedVerdicts, scenarios } from '../samples/scenarios/index.ts';
import { defineScenario, type ScenarioDefinition } from '../samples/scenarios/types.ts';
import { archiveMembers, buildAll, buildBundle, SampleBuildError } from './build-samples.ts';

interface Member {
  path: string;
  type: string;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  mtime: Date | undefined;
  content: Buffer;
}

/** Every member of a gzip'd tar, in archive order, with its header fields and content. */
async function readMembers(gzipped: Buffer): Promise<Member[]> {
  const members: Member[] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () =>
        members.push({
          path: entry.path,
          type: entry.type,
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          mtime: entry.mtime,
          content: Buffer.concat(chunks),
        }),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve());
    parser.on('error', reject);
    parser.end(gunzipSync(gzipped));
  });
  return members;
}

const byName = Object.fromEntries(scenarios.map((scenario) => [scenario.name, scenario]));
const scenario = (name: string): ScenarioDefinition => {
  const found = byName[name];
  if (!found) throw new Error(`no scenario ${name}`);
  return found;
};

let firstDir: string;
let secondDir: string;
const bundles = new Map<string, Member[]>();

beforeAll(async () => {
  firstDir = await mkdtemp(join(tmpdir(), 'samples-a-'));
  secondDir = await mkdtemp(join(tmpdir(), 'samples-b-'));
  await buildAll(firstDir);
  for (const { name } of scenarios)
    bundles.set(name, await readMembers(await readFile(join(firstDir, `${name}.tar.gz`))));
});

afterAll(async () => {
  await rm(firstDir, { recursive: true, force: true });
  await rm(secondDir, { recursive: true, force: true });
});

const membersOf = (name: string): Member[] => {
  const members = bundles.get(name);
  if (!members) throw new Error(`bundle ${name} was not built`);
  return members;
};
const fileText = (name: string, path: string): string | undefined =>
  membersOf(name)
    .find((member) => member.path === path)
    ?.content.toString('utf8');

describe('build-samples: reproducibility', () => {
  it('builds byte-identical archives on a second run', async () => {
    await buildAll(secondDir);
    const names = (await readdir(firstDir)).sort();
    expect(names).toEqual(scenarios.map((s) => `${s.name}.tar.gz`).sort());
    for (const name of names) {
      const [a, b] = await Promise.all([readFile(join(firstDir, name)), readFile(join(secondDir, name))]);
      expect(createHash('sha256').update(a).digest('hex'), name).toBe(createHash('sha256').update(b).digest('hex'));
    }
  });

  it('renders the same bytes in a fresh process (no clock, no Math.random), into the directory given', async () => {
    const out = await mkdtemp(join(tmpdir(), 'samples-cli-'));
    try {
      await promisify(execFile)(process.execPath, ['--experimental-strip-types', 'scripts/build-samples.ts', out], {
        cwd: join(import.meta.dirname, '..'),
      });
      for (const { name } of scenarios) {
        const [fresh, first] = await Promise.all([
          readFile(join(out, `${name}.tar.gz`)),
          readFile(join(firstDir, `${name}.tar.gz`)),
        ]);
        expect(fresh.equals(first), name).toBe(true);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe('build-samples: archive headers', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))(
    '%s: sorted members, root-owned, fixed modes and mtime',
    (name, definition) => {
      const members = membersOf(name);
      const paths = members.map((member) => member.path);
      expect(paths).toEqual([...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      const mtime = new Date(definition.createdAt).getTime();
      for (const member of members) {
        expect(member.uid, member.path).toBe(0);
        expect(member.gid, member.path).toBe(0);
        expect(member.mtime?.getTime(), member.path).toBe(mtime);
        expect(member.mode, member.path).toBe(member.type === 'Directory' ? 0o755 : 0o644);
      }
    },
  );

  it('keeps every bundle under 1 MiB compressed', async () => {
    for (const { name } of scenarios) {
      const size = (await readFile(join(firstDir, `${name}.tar.gz`))).length;
      expect(size, name).toBeLessThan(1024 * 1024);
    }
  });
});

describe('build-samples: our layout', () => {
  const ours = scenarios.filter((s) => s.layout === 'eks-node-diag');

  it.each(ours.map((s) => [s.name] as const))(
    '%s: canonical paths, no directory entries, a manifest that matches',
    (name) => {
      const members = membersOf(name);
      expect(members.some((member) => member.type === 'Directory')).toBe(false);
      const canonical = new Set<string>(Object.values(bundlePaths));
      for (const member of members)
        if (member.path !== MANIFEST_PATH) expect(canonical.has(member.path), member.path).toBe(true);
      const manifest = JSON.parse(fileText(name, MANIFEST_PATH) ?? 'null') as BundleManifest;
      expect(manifest.schema).toBe('eks-node-diag/bundle@1');
      expect(manifest.tool.name).toBe('eks-node-diag');
      expect(manifest.createdAt).toBe(scenario(name).createdAt);
      expect(manifest.node.cpuCount).toBeGreaterThan(0);
      expect(manifest.node.vpcCniVersion).toMatch(/^v1\.\d+\.\d+/);
      for (const item of manifest.items) {
        const member = members.find((m) => m.path === item.path);
        if (item.status === 'ok') {
          expect(member, item.id).toBeDefined();
          expect(item.bytes, item.id).toBe(member?.content.length);
          expect(item.sha256, item.id).toBe(
            createHash('sha256')
              .update(member?.content ?? '')
              .digest('hex'),
          );
          expect(item.durationMs, item.id).toBeGreaterThanOrEqual(0);
        } else {
          expect(member, `${item.id} is ${item.status} but its file is in the bundle`).toBeUndefined();
          expect(item.reason, item.id).toBeTruthy();
        }
      }
      const recorded = new Set(manifest.items.map((item) => item.path));
      for (const member of members)
        if (member.path !== MANIFEST_PATH) expect(recorded.has(member.path), member.path).toBe(true);
    },
  );

  it('records the starvation bundle’s metrics timeout and the missing nft', () => {
    const manifest = JSON.parse(fileText('aws-node-cpu-starvation', MANIFEST_PATH) ?? 'null') as BundleManifest;
    const metrics = manifest.items.find((item) => item.id === 'ipamd-metrics');
    expect(metrics?.status).toBe('timeout');
    expect(fileText('aws-node-cpu-starvation', bundlePaths['ipamd-metrics'])).toBeUndefined();
    const nft = manifest.items.find((item) => item.id === 'nftables-ruleset');
    expect(nft).toMatchObject({ status: 'skipped', reason: 'not installed' });
  });

  it('shows the incident in the starvation bundle and not in the healthy one', () => {
    const starved = fileText('aws-node-cpu-starvation', bundlePaths['kubelet-log']) ?? '';
    expect(starved.split('\n').length).toBeGreaterThan(3000);
    expect(starved).toMatch(
      /"Probe failed" probeType="Liveness" pod="kube-system\/aws-node-7xk2p" podUID="[0-9a-f-]{36}" containerName="aws-node" probeResult="failure" output=</,
    );
    expect(starved).toContain('timeout: failed to connect service \\":50051\\" within 5s');
    expect(starved).toContain(
      'output="command \\"/app/grpc-health-probe -addr=127.0.0.1:50051 -connect-timeout=5s -rpc-timeout=5s\\" timed out"',
    );
    expect(starved).toContain('containerMessage="Container aws-node failed liveness probe, will be restarted"');
    expect(fileText('aws-node-cpu-starvation', bundlePaths['proc-loadavg'])).toMatch(/^7\.91 /);
    expect(fileText('aws-node-cpu-starvation', bundlePaths['psi-cpu'])).toMatch(/^some avg10=72\.38 /);
    const healthy = fileText('healthy-node', bundlePaths['kubelet-log']) ?? '';
    expect(healthy.split('\n').length).toBeGreaterThan(3000);
    expect(healthy).not.toContain('"Probe failed"');
    expect(healthy).toContain('"SyncLoop (probe)" probe="readiness" status="ready"');
  });

  it('has FORWARD ACCEPT with the EKS unit on the healthy node and DROP without it on the custom AMI', () => {
    expect(fileText('healthy-node', bundlePaths['iptables-save'])).toMatch(/^:FORWARD ACCEPT \[\d+:\d+\]$/m);
    expect(fileText('healthy-node', bundlePaths['kubelet-unit'])).toContain(
      'ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5',
    );
    const save = fileText('forward-drop-custom-ami', bundlePaths['iptables-save']) ?? '';
    expect(save).toMatch(/^# Generated by iptables-nft-save v1\.8\.8 \(nf_tables\) on /);
    expect(save).toContain(':FORWARD DROP [2417:145025]');
    expect(fileText('forward-drop-custom-ami', bundlePaths['kubelet-unit'])).not.toContain('FORWARD ACCEPT');
  });
});

describe('build-samples: stock eks-log-collector layout', () => {
  it('stores members as GNU tar does for `--directory=… .`, with the always-created folders', () => {
    const members = membersOf('stock-eks-log-collector');
    expect(members[0]?.path).toBe('./');
    for (const member of members) expect(member.path.startsWith('./'), member.path).toBe(true);
    const directories = members.filter((member) => member.type === 'Directory').map((member) => member.path);
    for (const folder of ['kernel', 'system', 'networking', 'ipamd', 'kubelet', 'gpu', 'nodeadm', 'sysctls'])
      expect(directories).toContain(`./${folder}/`);
    expect(members.some((member) => member.path.endsWith(MANIFEST_PATH))).toBe(false);
  });

  it('holds the files the script writes, in its formats', () => {
    const name = 'stock-eks-log-collector';
    for (const path of [
      './kubelet/kubelet.log',
      './networking/iptables-save.txt',
      './networking/iptables-filter.txt',
      './system/top.txt',
      './system/procstat.txt',
      './system/cpu_throttling.txt',
      './sysctls/sysctl_all.txt',
      './var_log/aws-routed-eni/ipamd.log',
      './kernel/uname.txt',
      './system/instance-id.txt',
    ]) {
      expect(fileText(name, path), path).toBeTruthy();
    }
    expect(fileText(name, './kubelet/kubelet.log')).toMatch(
      /^-- Logs begin at \w{3} \d{4}-\d\d-\d\d [\d:]+ UTC, end at .+ --\n\w{3} \d\d [\d:]{8} ip-10-1-23-45\.ec2\.internal systemd\[1\]: /,
    );
    expect(fileText(name, './networking/iptables-filter.txt')).toMatch(/\n=======\nTotal Number of Rules: \d+\n$/);
    expect(fileText(name, './ipamd/metrics.json')).toMatch(/^# HELP awscni_/);
    expect(JSON.parse(fileText(name, './ipamd/pods.json') ?? '{}')).toHaveProperty('AvailableCommands');
    expect(fileText(name, './kubelet/kubelet.log')).toContain(
      'containerName="coredns" probeResult="failure" output="HTTP probe failed with statuscode: 503"',
    );
  });

  it('leaves out what a node without iptables and top cannot produce', () => {
    const paths = membersOf('stock-missing-files').map((member) => member.path);
    for (const missing of [
      './networking/iptables-save.txt',
      './networking/iptables.txt',
      './networking/iptables-filter.txt',
      './system/top.txt',
      './system/procstat.txt',
    ]) {
      expect(paths).not.toContain(missing);
    }
    expect(paths).toContain('./kubelet/kubelet.log');
    expect(fileText('stock-missing-files', './system/cpu_throttling.txt')).toBe('No CPU Throttling Found\n');
  });
});

describe('build-samples: legacy aws-cni-support layout', () => {
  it('stores everything under var/log/aws-routed-eni/ with the legacy file names', () => {
    const members = membersOf('legacy-aws-cni-support');
    for (const member of members) expect(member.path.startsWith('var/log/aws-routed-eni/'), member.path).toBe(true);
    const paths = members.map((member) => member.path);
    for (const name of [
      'eni.out',
      'iptables-save.out',
      'iptables.out',
      'route.out',
      'messages',
      'ipamd.log',
      'plugin.log',
      'metrics.out',
      'cni/10-aws.conflist',
    ]) {
      expect(paths).toContain(`var/log/aws-routed-eni/${name}`);
    }
    expect(fileText('legacy-aws-cni-support', 'var/log/aws-routed-eni/messages')).toMatch(
      /^\w{3} \d\d [\d:]{8} ip-192-168-12-34 \S+: /m,
    );
    expect(fileText('legacy-aws-cni-support', 'var/log/aws-routed-eni/iptables-save.out')).toContain(':FORWARD DROP [');
  });
});

describe('build-samples: scenario index', () => {
  it('states a verdict for each headline rule of every scenario', () => {
    expect(Object.keys(expectedVerdicts).sort()).toEqual(scenarios.map((s) => s.name).sort());
    for (const [name, expected] of Object.entries(expectedVerdicts)) {
      expect(Object.keys(expected).sort(), name).toEqual([
        'cpu-starvation',
        'forward-policy-drop',
        'kubelet-probe-failures',
      ]);
      for (const verdict of Object.values(expected)) expect(['fail', 'pass', 'not-evaluated']).toContain(verdict);
    }
  });

  it('gives every scenario a one-line description', () => {
    for (const s of scenarios) {
      expect(s.description.length, s.name).toBeGreaterThan(20);
      expect(s.description, s.name).not.toContain('\n');
    }
  });
});

describe('build-samples: malformed scenarios', () => {
  const base = (overrides: Partial<ScenarioDefinition>, files: Record<string, string>): ScenarioDefinition =>
    defineScenario(
      {
        name: 'broken',
        description: 'a broken scenario for tests',
        layout: 'eks-log-collector',
        createdAt: '2025-01-01T00:00:00Z',
        node: {},
        expected: { 'kubelet-probe-failures': 'pass', 'cpu-starvation': 'pass', 'forward-policy-drop': 'pass' },
        ...overrides,
      },
      () => files,
    );

  it.each([
    ['a path climbing out', { 'kubelet/../../etc/passwd': 'x' }, /has an empty, `\.` or `\.\.` segment/],
    ['an absolute path', { '/etc/shadow': 'x' }, /is absolute/],
    ['an empty path', { '': 'x' }, /is empty/],
    ['a backslash', { 'kubelet\\kubelet.log': 'x' }, /backslash/],
    ['a NUL byte', { 'kubelet/kubelet.log\0': 'x' }, /NUL/],
    ['a legacy member in the stock layout', { 'var/log/aws-routed-eni/eni.out': '{}' }, /legacy member/],
  ])('rejects %s', (_label, files, message) => {
    expect(() => archiveMembers(base({}, files))).toThrow(SampleBuildError);
    expect(() => archiveMembers(base({}, files))).toThrow(message);
  });

  it('rejects legacy members outside var/log/aws-routed-eni/', () => {
    expect(() => archiveMembers(base({ layout: 'aws-cni-support-legacy' }, { 'tmp/eni.out': '{}' }))).toThrow(
      /outside var\/log\/aws-routed-eni\//,
    );
  });

  it('rejects a scenario without files and an unparseable createdAt', async () => {
    expect(() => archiveMembers(base({}, {}))).toThrow(/has no files/);
    await expect(buildBundle(base({ createdAt: 'yesterday' }, { 'kubelet/kubelet.log': '' }))).rejects.toThrow(
      /is not a timestamp/,
    );
  });

  it('refuses our layout with a non-contract path, a hand-written manifest, or an ok item without a file', () => {
    const ours = (files: Record<string, string>, manifestOverrides?: ScenarioDefinition['manifestOverrides']) =>
      base({ layout: 'eks-node-diag', ...(manifestOverrides ? { manifestOverrides } : {}) }, files);
    expect(() => archiveMembers(ours({ 'kubelet/notes.txt': 'x' }))).toThrow(ManifestError);
    expect(() => archiveMembers(ours({ [MANIFEST_PATH]: '{}' }))).toThrow(/manifest\.json is generated/);
    expect(() =>
      archiveMembers(ours({ 'kubelet/kubelet.log': 'x' }, { items: [{ id: 'top', status: 'ok' }] })),
    ).toThrow(/ok in the overrides but has no file/);
    expect(() =>
      archiveMembers(
        ours({ 'system/top.txt': 'x' }, { items: [{ id: 'top', status: 'timeout', reason: 'timed out' }] }),
      ),
    ).toThrow(/timeout but its file is in the bundle/);
  });
});

/** Checks the inventory the way RuleTester checks rule tests: the table itself must be well-formed. */
import { describe, expect, it } from 'vitest';
import { bundlePaths } from '../../contract/bundle.ts';
import { inventory } from './index.ts';

describe('inventory', () => {
  it('has unique ids and unique bundle paths, all from the contract', () => {
    const ids = inventory.map((item) => item.id);
    expect(new Set(ids).size).toBe(ids.length);
    const outs = inventory.map((item) => item.out);
    expect(new Set(outs).size).toBe(outs.length);
    const contractPaths = new Set<string>(Object.values(bundlePaths));
    for (const item of inventory) expect(contractPaths, item.id).toContain(item.out);
  });

  it('gives every item a positive time and size budget, a priority and a reason', () => {
    for (const item of inventory) {
      expect(item.timeoutMs, item.id).toBeGreaterThan(0);
      expect(item.maxBytes, item.id).toBeGreaterThan(0);
      expect([1, 2, 3], item.id).toContain(item.priority);
      expect(item.why.length, item.id).toBeGreaterThan(10);
    }
  });

  it('runs commands as argv arrays, never through a shell, and never resolves names in iptables listings', () => {
    for (const item of inventory) {
      if (item.source.kind !== 'command') continue;
      expect(['sh', 'bash', '/bin/sh', '/bin/bash'], item.id).not.toContain(item.source.argv[0]);
      if (item.source.argv[0]?.endsWith('tables') && item.source.argv.includes('--list')) {
        expect(item.source.argv, item.id).toContain('--numeric');
      }
    }
  });

  it('reads only loopback endpoints and no instance-metadata credentials', () => {
    for (const item of inventory) {
      if (item.source.kind === 'http') expect(item.source.url, item.id).toMatch(/^(introspection|metrics):\//);
      if (item.source.kind === 'imds') expect(item.source.path, item.id).not.toMatch(/credential/);
    }
  });

  it('covers the must-have inventory of the stock collector and more', () => {
    const ids = new Set(inventory.map((item) => item.id));
    for (const id of [
      'kubelet-log',
      'kubelet-unit',
      'kubelet-config',
      'containerd-log',
      'aws-routed-eni-logs',
      'cni-config-dir',
      'cni-env-containerd',
      'aws-node-run-dir',
      'ipamd-enis',
      'ipamd-eni-configs',
      'ipamd-env',
      'ipamd-networkutils-env',
      'ipamd-metrics',
      'iptables-save',
      'ip6tables-save',
      'iptables-list-filter',
      'iptables-list-nat',
      'iptables-list-mangle',
      'nftables-ruleset',
      'iptables-backend',
      'ip-addr',
      'ip-link',
      'ip-link-stats',
      'ip-neigh',
      'ip-rule',
      'ip6-rule',
      'ip-route',
      'ip6-route',
      'conntrack-stats',
      'conntrack-count',
      'ipvsadm',
      'ipset',
      'sysctl-all',
      'proc-meminfo',
      'proc-loadavg',
      'proc-stat',
      'psi-cpu',
      'psi-memory',
      'psi-io',
      'cgroup-kubepods-cpu-stat',
      'cgroup-kubepods-memory-stat',
      'cgroup-aws-node-cpu-stat',
      'cpu-throttling',
      'top',
      'ps',
      'dmesg',
      'uname',
      'mounts',
      'inodes',
      'imds-network-interfaces',
      'instance-type',
      'pod-logs',
    ]) {
      expect(ids, id).toContain(id);
    }
  });
});

/**
 * The whole way on simulated nodes: `eks-node-diag collect` (the built CLI) runs inside each world's network
 * namespace against real iptables rules, a real introspection/metrics endpoint and real journal files under --root;
 * `eks-node-diag analyze` then judges the bundle, and the verdicts must be the ones the scenario declares.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeBundle } from '../../analyzer/engine/analyze-bundle.ts';
import type { Report } from '../../analyzer/report/model.ts';
import { rules } from '../../analyzer/rules/index.ts';
import type { BundleManifest } from '../../contract/bundle.ts';
import { simulationAvailable } from '../sim/prerequisites.ts';
import { scenarioNames } from '../sim/scenarios.ts';
import { createNodeWorld, type NodeWorld } from '../sim/world.ts';

const cli = resolve(import.meta.dirname, '..', '..', 'dist', 'eks-node-diag.cjs');

describe.skipIf(!simulationAvailable())('collect on a simulated node, then analyze', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-collect-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe.each(scenarioNames.map((name) => [name]))('%s', (name) => {
    let world: NodeWorld;
    let report: Report;
    let manifest: BundleManifest;
    let stderr: string;

    beforeAll(async () => {
      world = await createNodeWorld(name);
      const bundle = join(dir, `${name}.tar.gz`);
      const result = await world.exec(
        ['node', cli, 'collect', '--root', world.root, '--out', bundle, '--since', '24h', '--deadline', '90s'],
        {
          timeoutMs: 120_000,
        },
      );
      stderr = result.stderr;
      if (result.exitCode !== 0) throw new Error(`collect exited ${result.exitCode}: ${result.stderr}`);
      expect(result.stdout.trim()).toBe(bundle);
      report = await analyzeBundle(bundle, { rules });
      const { readManifest } = await import('../support/bundle-files.ts');
      manifest = await readManifest(bundle);
    }, 180_000);
    afterAll(async () => {
      await world?.dispose();
    });

    it('yields the declared verdicts', () => {
      const verdicts = Object.fromEntries(
        Object.keys(world.expected).map((id) => [id, report.rules.find((rule) => rule.id === id)?.verdict]),
      );
      expect(verdicts, stderr).toEqual(world.expected);
      if (world.expected['forward-policy-drop'] === 'fail') {
        const forward = report.rules.find((rule) => rule.id === 'forward-policy-drop');
        expect(forward?.evidence[0]).toMatchObject({
          path: 'networking/iptables-save.txt',
          text: expect.stringMatching(/^:FORWARD DROP \[\d+:\d+\]/),
        });
      }
    });

    it('reads as our layout, with a manifest and no bundle errors', () => {
      expect(report.bundle.layout).toBe('eks-node-diag');
      expect(report.bundle.errors).toEqual([]);
      expect(report.bundle.collector?.name).toBe('eks-node-diag');
    });

    it('records an honest status for every inventory item', async () => {
      const { inventory } = await import('../../agent/items/index.ts');
      const recorded = new Set(manifest.items.map((item) => item.id.split(':')[0]));
      const folders = new Set(inventory.filter((item) => item.source.kind === 'glob').map((item) => item.id));
      for (const item of inventory) {
        if (folders.has(item.id)) continue; // folder items are recorded per file, under each file's id
        expect(recorded, item.id).toContain(item.id);
      }
      for (const item of manifest.items) {
        expect(['ok', 'truncated', 'error', 'timeout', 'skipped'], item.id).toContain(item.status);
        if (item.status !== 'ok') expect(item.reason, item.id).toMatch(/\S/);
        if (item.status === 'ok') expect(item.sha256, item.id).toMatch(/^[0-9a-f]{64}$/);
      }
      // What the world really offers was collected.
      const byId = new Map(manifest.items.map((item) => [item.id, item]));
      expect(byId.get('iptables-save')?.status).toBe('ok');
      expect(byId.get('ipamd-enis')?.status).toBe('ok');
      expect(byId.get('ipamd-metrics')?.status).toBe('ok');
      expect(byId.get('kubelet-log')?.status).toBe('ok');
      expect(byId.get('ipamd-log')?.status).toMatch(/ok|truncated/);
      expect(byId.get('imds-network-interfaces')?.status).toBe('skipped');
    });

    it('read ipamd with GETs of its documented endpoints only', () => {
      const requests = world.requests();
      expect(requests.map((request) => request.url)).toEqual(
        expect.arrayContaining([
          '/v1/enis',
          '/v1/eni-configs',
          '/v1/ipamd-env-settings',
          '/v1/networkutils-env-settings',
          '/metrics',
        ]),
      );
      for (const request of requests) expect(request.method).toBe('GET');
    });
  });

  it('leaves no planted secret anywhere in the bundle', async () => {
    const secrets = {
      accessKey: 'AKIAQWERTYUIOPASDFGH',
      secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY',
      sessionToken: 'IQoJb3JpZ2luX2VjEHcaCXVzLWVhc3QtMSJHMEUCIQDk1secretsessiontokenvalue',
      password: 'hunter2-Planted-Password',
      bearer: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06bm9kZSJ9.c2lnbmF0dXJlLXBsYW50ZWQ',
    };
    const world = await createNodeWorld('healthy', {
      files: {
        'var/log/aws-routed-eni/ipamd.log': `{"level":"info","ts":"2026-11-20T08:00:00.000Z","caller":"main.go:1","msg":"env AWS_SECRET_ACCESS_KEY=${secrets.secretKey} AWS_ACCESS_KEY_ID=${secrets.accessKey}"}\n`,
        'var/lib/kubelet/kubeconfig': `apiVersion: v1\nkind: Config\nusers:\n- name: kubelet\n  user:\n    token: ${secrets.bearer}\n`,
        'var/log/cloud-init-output.log': `+ export DB_PASSWORD=${secrets.password}\n+ AWS_SESSION_TOKEN=${secrets.sessionToken} aws s3 ls\n`,
        'etc/eks/kubelet/environment': `NODEADM_KUBELET_ARGS=--node-labels=a=b\nAPI_TOKEN=${secrets.password}\n`,
      },
    });
    try {
      const bundle = join(dir, 'secrets.tar.gz');
      const result = await world.exec(
        ['node', cli, 'collect', '--root', world.root, '--out', bundle, '--deadline', '90s'],
        { timeoutMs: 120_000 },
      );
      expect(result.exitCode, result.stderr).toBe(0);
      const { bundleMembers } = await import('../support/bundle-files.ts');
      const members = await bundleMembers(bundle);
      expect(members.size).toBeGreaterThan(10);
      for (const [name, body] of members) {
        const text = body.toString('latin1');
        for (const [kind, value] of Object.entries(secrets)) {
          expect(text.includes(value), `${kind} found in ${name}`).toBe(false);
          expect(text.includes(value.slice(4, 16)), `part of ${kind} found in ${name}`).toBe(false);
        }
      }
      // The planted files were collected, their secrets masked in place with the key names kept.
      expect(members.get('var_log/cloud-init-output.log')?.toString()).toContain('DB_PASSWORD=***REDACTED***');
      expect(members.get('kubelet/kubeconfig.yaml')?.toString()).toMatch(/token: \*\*\*REDACTED\*\*\*/);
      expect(members.get('var_log/aws-routed-eni/ipamd.log')?.toString()).toContain(
        'AWS_SECRET_ACCESS_KEY=***REDACTED***',
      );
      const manifest = JSON.parse(members.get('manifest.json')?.toString('utf8') ?? '{}') as BundleManifest;
      const redactions = manifest.items.reduce((sum, item) => sum + (item.redactions ?? 0), 0);
      expect(redactions).toBeGreaterThanOrEqual(5);
    } finally {
      await world.dispose();
    }
  }, 180_000);
});

/**
 * evidence-coverage: how much of the node the bundle lets us see, and which rules it left unable to conclude.
 * Introspection or metrics skipped or silent, ipamd logging above DEBUG, files missing, cut short or failed to
 * collect: each is a blind spot. This rule runs after the others and turns their not-evaluated verdicts into one
 * list of what to collect again, so a "nothing found" report is never mistaken for a clean bill of health.
 */

import { defineRule } from '../engine/rule.ts';
import type { Evidence, Fact } from '../report/model.ts';
import { AWS_NODE_ENV_ITEMS, createAwsNodeConfigCollector, lookupEnv } from './shared/aws-node-config.ts';

export default defineRule({
  meta: {
    id: 'evidence-coverage',
    title: 'Evidence coverage of the bundle',
    severity: 'warning',
    description:
      'A rule that could not look cannot say the node is healthy. This lists the blind spots of the bundle (introspection or metrics not collected, ipamd logging above DEBUG, files missing, cut short or failed) and the rules they left without a verdict.',
    needs: [],
    uses: [
      'ipamd-enis',
      'ipamd-metrics',
      'ipamd-introspection-ignored',
      'ipamd-metrics-ignored',
      ...AWS_NODE_ENV_ITEMS,
    ],
    runsAfterOthers: true,
    messages: {
      gaps: '{{blind}} of {{total}} rules could not conclude because of gaps in the bundle: {{ids}}.',
      complete: 'Every one of the {{total}} other rules reached a verdict from the evidence in the bundle{{gapNote}}.',
    },
    remediation: [
      'Collect again with `eks-node-diag collect` (or, with the stock script, `sudo bash /opt/cni/bin/aws-cni-support.sh` without `--ignore_introspection`/`--ignore_metrics`), while the problem is present.',
      'If the introspection or metrics endpoints are off on purpose (`DISABLE_INTROSPECTION`, `DISABLE_METRICS` on aws-node), turn them on for the investigation; `INTROSPECTION_BIND_ADDRESS` may move the endpoint to a unix socket.',
      'Keep ipamd at its default `AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG` while investigating: IP pool and ENI decisions are logged only at DEBUG.',
      'Where items timed out or were cut at their size budget, raise `--deadline` / `--max-bytes`, and free disk space on the node if the collector refused to write.',
    ],
    references: [
      {
        title: 'VPC CNI troubleshooting: introspection and metrics',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md',
      },
    ],
  },
  create(ctx) {
    let enisDocuments = 0;
    let metricSamples = 0;
    // ipamd's log level is in aws-node's environment; scanning the log for DEBUG lines would cost a pass per line.
    const awsNode = createAwsNodeConfigCollector();
    let introspectionIgnored: Evidence | undefined;
    let metricsIgnored: Evidence | undefined;
    return {
      ...awsNode.handlers,
      'ipamd-enis'(event) {
        if (event.kind === 'document') enisDocuments++;
      },
      'ipamd-metrics'() {
        metricSamples++;
      },
      'ipamd-introspection-ignored'(event, file) {
        introspectionIgnored ??= ctx.evidence(file, event, { highlight: true });
      },
      'ipamd-metrics-ignored'(event, file) {
        metricsIgnored ??= ctx.evidence(file, event, { highlight: true });
      },
      done() {
        const others = ctx.otherResults();
        const blind = others.filter((result) => result.verdict === 'not-evaluated');
        const gaps: string[] = [];
        const evidence: Evidence[] = [];
        const enis = ctx.bundle.item('ipamd-enis');
        if (introspectionIgnored) {
          gaps.push('introspection was skipped (--ignore_introspection)');
          evidence.push(introspectionIgnored);
        } else if (enis.present && enisDocuments === 0) {
          gaps.push('ipamd/enis.json is empty: the introspection endpoint did not answer');
        }
        const metrics = ctx.bundle.item('ipamd-metrics');
        if (metricsIgnored) {
          gaps.push('metrics were skipped (--ignore_metrics)');
          evidence.push(metricsIgnored);
        } else if (metrics.present && metricSamples === 0) {
          gaps.push('ipamd/metrics.json holds no metrics: the metrics endpoint did not answer');
        }
        const logLevel = lookupEnv(awsNode.config(ctx.bundle), 'AWS_VPC_K8S_CNI_LOGLEVEL');
        if (logLevel.state === 'set' && !/^debug$/i.test(logLevel.value)) {
          gaps.push(
            `ipamd logs at ${logLevel.value} (AWS_VPC_K8S_CNI_LOGLEVEL): IP pool and ENI decisions are logged only at DEBUG`,
          );
        }
        const damaged = ctx
          .inventory()
          .filter(
            (entry) =>
              entry.state === 'truncated' ||
              entry.state === 'skipped' ||
              (entry.collectedStatus !== undefined && entry.collectedStatus !== 'ok'),
          );
        for (const entry of damaged.slice(0, 20)) {
          const status = entry.collectedStatus && entry.collectedStatus !== 'ok' ? entry.collectedStatus : entry.state;
          gaps.push(`${entry.path}: ${status}${entry.collectedReason ? ` (${entry.collectedReason})` : ''}`);
        }
        const facts: Fact[] = [
          { label: 'Rules with a verdict', value: `${others.length - blind.length} of ${others.length}` },
          ...gaps.map((gap) => ({ label: 'Blind spot', value: gap })),
        ];
        if (blind.length === 0) {
          ctx.pass(
            'complete',
            { total: others.length, gapNote: gaps.length > 0 ? `, despite ${gaps.length} gap(s) listed below` : '' },
            { evidence, facts },
          );
          return;
        }
        ctx.fail(
          'gaps',
          { blind: blind.length, total: others.length, ids: blind.map((result) => result.id).join(', ') },
          {
            evidence,
            facts,
            tables: [
              {
                caption: 'Rules left without a verdict',
                columns: ['Rule', 'Why it could not conclude'],
                rows: blind.map((result) => [result.id, result.reason ?? result.summary]),
              },
            ],
            // Blind spots are worth a warning when a rule that can find critical problems was among them.
            severity: blind.some((result) => result.severity === 'critical') ? 'warning' : 'info',
          },
        );
      },
    };
  },
});

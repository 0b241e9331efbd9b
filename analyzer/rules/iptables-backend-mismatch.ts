/**
 * iptables-backend-mismatch: rules in both iptables backends (legacy x_tables and nf_tables), or the VPC CNI's
 * rules in a different backend from kubelet's and kube-proxy's.
 *
 * iptables 1.8 ships two binaries that program different kernel tables; both are evaluated for every packet, but
 * each tool sees only its own, so rules written through one are invisible to the other and ordering between them is
 * undefined. kubelet uses the host's `iptables` (legacy on AL2, nf_tables on AL2023). aws-node picks its mode at start
 * with kubernetes-sigs iptables-wrapper (VPC CNI v1.13.1+, aws/amazon-vpc-cni-k8s#2402; before that ENABLE_NFTABLES,
 * default legacy): it looks for kubelet's chains in each backend and, when kube-proxy has not created them yet, falls
 * back to counting rules, which can pick the wrong one (aws/amazon-vpc-cni-k8s#3559).
 *
 * Evidence: `iptables-save` and `ip6tables-save` (their header says which backend; iptables-nft adds
 * `# Warning: iptables-legacy tables present` when legacy tables exist and stderr was captured), our agent's
 * `iptables-legacy-save` and `nft list ruleset` (the `ip`/`ip6` filter, nat, mangle, raw and security tables are
 * iptables-nft's), and `iptables --version` for a save without a header. When only one backend is in the bundle the
 * rule compares what it holds: kubelet's KUBE-* chains without the VPC CNI's AWS-SNAT-CHAIN-* (or the reverse) mean
 * the other component wrote to the other backend.
 */

import { defineRule, type FileRef } from '../engine/rule.ts';
import type { IptablesBackend, IptablesSaveEvent } from '../parsers/iptables-save.ts';
import type { Evidence, Fact } from '../report/model.ts';

type Backend = IptablesBackend | 'unknown';

const CNI_CHAIN = /^AWS-(?:SNAT|CONNMARK)-CHAIN-\d+$/;
const KUBE_CHAIN = /^KUBE-/;
const COMPAT_TABLE = /^table (ip|ip6) (filter|nat|mangle|raw|security) \{$/;
const NFT_NOT_A_RULE = /^(?:type |policy |chain |table |flags |comment |devices |\}|$)/;
const MAX_NAMES = 4;

interface Side {
  rules: number;
  paths: Set<string>;
  kube: string[];
  cni: string[];
  kubeEvidence?: Evidence;
  cniEvidence?: Evidence;
  firstRule?: Evidence;
}

function newSide(): Side {
  return { rules: 0, paths: new Set(), kube: [], cni: [] };
}

function describeSide(side: Side): string {
  const families: string[] = [];
  if (side.kube.length > 0)
    families.push(`kubelet/kube-proxy ${side.kube.slice(0, 2).join(', ')}${side.kube.length > 2 ? ', …' : ''}`);
  if (side.cni.length > 0) families.push(`VPC CNI ${side.cni.slice(0, 2).join(', ')}`);
  return `${side.rules} rule(s)${families.length > 0 ? ` (${families.join('; ')})` : ''} in ${[...side.paths].join(', ')}`;
}

export default defineRule({
  meta: {
    id: 'iptables-backend-mismatch',
    title: 'iptables rules split between legacy and nf_tables',
    severity: 'warning',
    description:
      'iptables-legacy and iptables-nft program different kernel tables. Both filter every packet, but each tool sees only its own rules, so when kubelet, kube-proxy and the VPC CNI write to different backends their NAT, mark and accept rules interact in ways none of them expects (pod egress SNAT, NodePort return traffic, unexpected drops).',
    needs: [{ anyOf: ['iptables-save', 'iptables-legacy-save', 'nftables-ruleset'] }],
    uses: ['ip6tables-save', 'iptables-backend'],
    messages: {
      both: 'Rules are in both iptables backends: nf_tables holds {{nft}}; legacy holds {{legacy}}.',
      legacyPresent:
        'iptables-nft reports legacy tables next to its own rules ("{{warning}}"), and the bundle holds no iptables-legacy-save output to show what they contain.',
      cniElsewhere:
        'The {{backend}} backend holds kubelet/kube-proxy chains ({{kube}}) but none of the VPC CNI’s (AWS-SNAT-CHAIN-*): aws-node wrote its rules to the other backend, or has not set up this node.',
      kubeElsewhere:
        'The {{backend}} backend holds the VPC CNI’s chains ({{cni}}) but no kubelet/kube-proxy KUBE-* chains: kubelet and kube-proxy write to the other backend.',
      oneBackend: 'All iptables rules are in one backend: {{backend}} holds {{rules}}{{other}}.',
    },
    remediation: [
      'See both backends on the node: `sudo iptables-legacy-save | grep -c "^-A"`, `sudo iptables-nft-save | grep -c "^-A"`, and which one the host uses: `iptables --version` (`(nf_tables)` or `(legacy)`).',
      'Find who writes to the unexpected backend: `sudo iptables-legacy-save | grep -E "^:(KUBE|AWS)-"` and the same with `iptables-nft-save`; in aws-node, `kubectl -n kube-system exec <aws-node pod> -c aws-node -- iptables --version` shows the mode iptables-wrapper chose.',
      'If aws-node chose the wrong mode (it starts before kube-proxy created its chains, aws/amazon-vpc-cni-k8s#3559), restart it once kube-proxy is running: `kubectl -n kube-system delete pod <aws-node pod on the node>`; on VPC CNI before v1.13.1 set ENABLE_NFTABLES to match the host.',
      'Flush the stale backend only after every component writes to the right one (a reboot clears both): for example `sudo iptables-legacy -t nat -F; sudo iptables-legacy -t filter -F` when the host uses nf_tables.',
    ],
    references: [
      {
        title:
          'amazon-vpc-cni-k8s#2402: set the iptables mode automatically (iptables-wrapper), deprecate ENABLE_NFTABLES',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/pull/2402',
      },
      {
        title: 'amazon-vpc-cni-k8s#3559: CNI fails to detect iptables-nft mode in a race with kube-proxy',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/issues/3559',
      },
      {
        title: 'kubernetes-sigs/iptables-wrappers: why mixing backends breaks, and how the mode is detected',
        url: 'https://github.com/kubernetes-sigs/iptables-wrappers',
      },
      {
        title: 'node-problem-detector: IPTablesVersionsMismatch (iptables-mode-monitor)',
        url: 'https://github.com/kubernetes/node-problem-detector/blob/master/config/iptables-mode-monitor.json',
      },
    ],
  },
  create(ctx) {
    const sides = new Map<Backend, Side>();
    const saveBackends = new Map<string, { backend: IptablesBackend; header: Evidence }>();
    /** Events of saves whose header had not told their backend yet (no header): decided in done(). */
    const headerless = new Map<string, Side>();
    let hostBackend: { backend: IptablesBackend; evidence: Evidence } | undefined;
    let legacyWarning: Evidence | undefined;
    let nftTable: string | undefined;
    let nftDepth = 0;

    const sideOf = (backend: Backend) => {
      let side = sides.get(backend);
      if (!side) {
        side = newSide();
        sides.set(backend, side);
      }
      return side;
    };

    const sawChainName = (side: Side, chain: string, file: FileRef, event: { line: number; raw: string }) => {
      if (KUBE_CHAIN.test(chain)) {
        if (!side.kube.includes(chain) && side.kube.length < MAX_NAMES) side.kube.push(chain);
        side.kubeEvidence ??= ctx.evidence(file, event);
      } else if (CNI_CHAIN.test(chain)) {
        if (!side.cni.includes(chain) && side.cni.length < MAX_NAMES) side.cni.push(chain);
        side.cniEvidence ??= ctx.evidence(file, event);
      }
    };

    const sawSave = (fixed: IptablesBackend | undefined) => (event: IptablesSaveEvent, file: FileRef) => {
      if (event.kind === 'header') {
        saveBackends.set(file.path, { backend: fixed ?? event.backend, header: ctx.evidence(file, event) });
        return;
      }
      if (event.kind === 'warning') {
        if (/legacy tables present/.test(event.text)) legacyWarning ??= ctx.evidence(file, event, { highlight: true });
        return;
      }
      if (event.kind !== 'chain' && event.kind !== 'rule') return;
      const known = fixed ?? saveBackends.get(file.path)?.backend;
      let side: Side;
      if (known) side = sideOf(known);
      else {
        side = headerless.get(file.path) ?? newSide();
        headerless.set(file.path, side);
      }
      side.paths.add(file.path);
      sawChainName(side, event.chain, file, event);
      if (event.kind === 'rule') {
        side.rules++;
        side.firstRule ??= ctx.evidence(file, event);
      }
    };

    return {
      'iptables-save': sawSave(undefined),
      'ip6tables-save': sawSave(undefined),
      'iptables-legacy-save': sawSave('legacy'),
      'nftables-ruleset'(event, file) {
        const text = event.text;
        if (nftDepth === 0) {
          const table = COMPAT_TABLE.exec(text);
          nftTable = table ? `${table[1]} ${table[2]}` : undefined;
        }
        nftDepth += (text.match(/\{/g)?.length ?? 0) - (text.match(/\}/g)?.length ?? 0);
        if (nftDepth < 0) nftDepth = 0;
        if (!nftTable) return;
        const side = sideOf('nf_tables');
        side.paths.add(file.path);
        const chain = /^chain (\S+) \{$/.exec(text)?.[1];
        if (chain) sawChainName(side, chain, file, event);
        else if (nftDepth >= 2 && !NFT_NOT_A_RULE.test(text)) {
          side.rules++;
          side.firstRule ??= ctx.evidence(file, event);
        }
      },
      'iptables-backend'(event, file) {
        const mode = /\((nf_tables|legacy)\)/.exec(event.text)?.[1] as IptablesBackend | undefined;
        if (mode) hostBackend ??= { backend: mode, evidence: ctx.evidence(file, event) };
      },
      done() {
        const facts: Fact[] = [];
        const caveats: string[] = [];
        const evidence: Evidence[] = [];
        for (const [path, side] of headerless) {
          const merged = sideOf(hostBackend?.backend ?? 'unknown');
          merged.rules += side.rules;
          for (const p of side.paths) merged.paths.add(p);
          for (const name of side.kube)
            if (merged.kube.length < MAX_NAMES && !merged.kube.includes(name)) merged.kube.push(name);
          for (const name of side.cni)
            if (merged.cni.length < MAX_NAMES && !merged.cni.includes(name)) merged.cni.push(name);
          merged.kubeEvidence ??= side.kubeEvidence;
          merged.cniEvidence ??= side.cniEvidence;
          merged.firstRule ??= side.firstRule;
          if (hostBackend) caveats.push(`${path} has no header; its backend is taken from \`iptables --version\`.`);
        }
        for (const { backend, header } of saveBackends.values()) {
          facts.push({ label: 'iptables-save backend', value: backend, path: header.path, line: header.line });
          evidence.push(header);
        }
        if (hostBackend) {
          facts.push({
            label: 'Host iptables mode',
            value: hostBackend.backend,
            path: hostBackend.evidence.path,
            line: hostBackend.evidence.line,
          });
        }

        const nft = sides.get('nf_tables');
        const legacy = sides.get('legacy');
        const legacySaved = ctx.bundle.item('iptables-legacy-save').present;
        const nftVisible = nft !== undefined || [...saveBackends.values()].some((s) => s.backend === 'nf_tables');
        const legacyVisible =
          legacy !== undefined || legacySaved || [...saveBackends.values()].some((s) => s.backend === 'legacy');
        // Empty chains count: kubelet's canary chains hold no rules but show which backend kubelet writes to.
        const hasContent = (side: Side | undefined): side is Side =>
          side !== undefined && (side.rules > 0 || side.kube.length + side.cni.length > 0);

        if (hasContent(nft) && hasContent(legacy)) {
          for (const side of [nft, legacy]) {
            for (const e of [side.kubeEvidence, side.cniEvidence, side.firstRule]) {
              if (e) evidence.push({ ...e, highlight: true });
            }
          }
          if (legacyWarning) evidence.push(legacyWarning);
          ctx.fail('both', { nft: describeSide(nft), legacy: describeSide(legacy) }, { evidence, facts, caveats });
          return;
        }
        if (legacyWarning && !legacySaved) {
          evidence.unshift(legacyWarning);
          ctx.fail('legacyPresent', { warning: legacyWarning.text.replace(/^#\s*/, '') }, { evidence, facts, caveats });
          return;
        }
        if (nftVisible && legacyVisible) {
          const filled = hasContent(nft) ? nft : hasContent(legacy) ? legacy : undefined;
          const backend = filled === nft ? 'nf_tables' : 'legacy';
          if (filled?.firstRule) evidence.push(filled.firstRule);
          ctx.pass(
            'oneBackend',
            filled
              ? {
                  backend,
                  rules: describeSide(filled),
                  other: `; ${backend === 'legacy' ? 'nf_tables' : 'legacy'} holds none`,
                }
              : { backend: 'neither backend', rules: 'any rules', other: '' },
            { evidence, facts, caveats },
          );
          return;
        }

        const unknown = sides.get('unknown');
        const [backend, side] = hasContent(nft)
          ? (['nf_tables', nft] as const)
          : hasContent(legacy)
            ? (['legacy', legacy] as const)
            : hasContent(unknown)
              ? (['unknown', unknown] as const)
              : [undefined, undefined];
        if (!backend || !side || side.kube.length + side.cni.length === 0) {
          ctx.notEvaluated(
            backend
              ? `the ${backend} backend holds neither kubelet/kube-proxy (KUBE-*) nor VPC CNI (AWS-*) chains to compare, and the other backend is not in the bundle`
              : 'the iptables output in the bundle holds no rules and no kubelet, kube-proxy or VPC CNI chains',
          );
          return;
        }
        const backendName = backend === 'unknown' ? 'iptables-save’s (backend not stated)' : backend;
        caveats.push(
          backend === 'nf_tables'
            ? 'The legacy backend is not in the bundle (no iptables-legacy-save output), so rules there cannot be ruled out.'
            : 'The nf_tables backend is not in the bundle (no nf_tables iptables-save and no `nft list ruleset`), so rules there cannot be ruled out.',
        );
        if (side.kube.length > 0 && side.cni.length === 0) {
          if (side.kubeEvidence) evidence.push({ ...side.kubeEvidence, highlight: true });
          ctx.fail('cniElsewhere', { backend: backendName, kube: side.kube.join(', ') }, { evidence, facts, caveats });
          return;
        }
        if (side.cni.length > 0 && side.kube.length === 0) {
          if (side.cniEvidence) evidence.push({ ...side.cniEvidence, highlight: true });
          ctx.fail('kubeElsewhere', { backend: backendName, cni: side.cni.join(', ') }, { evidence, facts, caveats });
          return;
        }
        if (side.kubeEvidence) evidence.push(side.kubeEvidence);
        if (side.cniEvidence) evidence.push(side.cniEvidence);
        ctx.pass(
          'oneBackend',
          { backend: backendName, rules: describeSide(side), other: '; kubelet/kube-proxy and the VPC CNI share it' },
          { evidence, facts, caveats },
        );
      },
    };
  },
});

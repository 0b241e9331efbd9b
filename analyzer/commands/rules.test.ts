import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defineRule } from '../engine/rule.ts';
import { rules } from '../rules/index.ts';
import { listRules, markdownText, renderRulesMarkdown } from './rules.ts';

const DOCS_PAGE = new URL('../../docs/rules.md', import.meta.url);

function committedPage(): string {
  try {
    return readFileSync(DOCS_PAGE, 'utf8');
  } catch {
    return '(docs/rules.md is missing)';
  }
}

const sample = defineRule({
  meta: {
    id: 'sample-rule',
    title: 'Pipes | and <angles> in a title',
    severity: 'info',
    description: 'Reads `net.ipv4.conf.<if>.rp_filter` and AWS-SNAT-CHAIN-* chains [sic]; _emphasis_ stays literal.',
    needs: ['sysctl-all', { anyOf: ['dmesg', 'system-messages'] }],
    uses: ['ip-route'],
    messages: { ok: 'fine' },
    remediation: ['Run `sudo sysctl -w net.ipv4.ip_forward=1`.', 'Then <restart> it.'],
    references: [{ title: 'A reference (with parentheses)', url: 'https://example.com/a_(b)' }],
  },
  create: () => ({}),
});

describe('eks-node-diag rules --md', () => {
  it('docs/rules.md is the catalog as the registry renders it now', () => {
    expect(
      committedPage(),
      'docs/rules.md is stale: run `npm run docs` and commit docs/rules.md with the rule change',
    ).toBe(renderRulesMarkdown());
  });

  it('lists every registered rule in the index and gives each a section', () => {
    const page = renderRulesMarkdown();
    expect(page).toContain(`judges a node bundle with ${rules.length} rules`);
    for (const rule of rules) {
      expect(page).toMatch(
        new RegExp(`\\| \\[\`${rule.meta.id}\`\\]\\(#${rule.meta.id}\\) +\\| ${rule.meta.severity} +\\|`),
      );
      expect(page).toContain(`\n## \`${rule.meta.id}\`\n`);
    }
  });

  it('renders what a rule reads, what to do and its references from metadata', () => {
    const page = renderRulesMarkdown([sample]);
    expect(page).toContain(
      [
        '| Rule                          | Severity | Checks                                 |',
        '| ----------------------------- | -------- | -------------------------------------- |',
        '| [`sample-rule`](#sample-rule) | info     | Pipes \\| and &lt;angles&gt; in a title |',
      ].join('\n'),
    );
    expect(page).toContain('- needs `sysctls/sysctl_all.txt`');
    expect(page).toContain('- needs any one of `kernel/dmesg.current`, `var_log/messages`');
    expect(page).toContain('- uses when present `networking/iproute.txt`');
    expect(page).toContain('1. Run `sudo sysctl -w net.ipv4.ip_forward=1`.\n2. Then &lt;restart&gt; it.');
    expect(page).toContain('- [A reference (with parentheses)](https://example.com/a_%28b%29)');
    expect(page).toContain(
      'Reads `net.ipv4.conf.<if>.rp_filter` and AWS-SNAT-CHAIN-\\* chains \\[sic\\]; \\_emphasis\\_ stays literal.',
    );
  });

  it('is what the CLI prints with --md', () => {
    expect(listRules({ markdown: true })).toBe(renderRulesMarkdown());
  });
});

describe('markdownText', () => {
  it('escapes markup outside code spans only', () => {
    expect(markdownText('a `<b>*c*` <d> *e*')).toBe('a `<b>*c*` &lt;d&gt; \\*e\\*');
    expect(markdownText('nf_conntrack_count stays, _x_ does not')).toBe('nf_conntrack_count stays, \\_x\\_ does not');
    expect(markdownText('C:\\path')).toBe('C:\\\\path');
  });
});

describe('eks-node-diag rules (terminal and JSON)', () => {
  it('keeps the JSON shape scripts rely on', () => {
    const entries = JSON.parse(listRules({ json: true })) as { id: string; severity: string; needs: string[] }[];
    expect(entries.map((entry) => entry.id)).toEqual(
      rules.map((rule) => rule.meta.id).sort((a, b) => a.localeCompare(b)),
    );
    for (const entry of entries) {
      expect(['critical', 'warning', 'info']).toContain(entry.severity);
      expect(Array.isArray(entry.needs)).toBe(true);
    }
  });
});

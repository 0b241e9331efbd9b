/**
 * eks-node-diag command line. Parses, dispatches to command modules (loaded lazily so `--help` and `--version`
 * start fast), and holds the one place where outcomes and errors become exit codes:
 *   0 analyzed (no finding at or above --fail-on), 1 an input could not be read, 2 usage error,
 *   3 a finding at or above --fail-on, 70 internal error.
 */
import { Command, CommanderError, Option } from 'commander';
import { TOOL_VERSION } from '../analyzer/engine/version.ts';

export const EXIT = { ok: 0, unreadable: 1, usage: 2, findings: 3, internal: 70 } as const;

const ANALYZE_EXAMPLES = `
Examples:
  # Analyze a bundle: terminal summary, and node.tar.gz.report.html beside it
  $ eks-node-diag analyze eks_i-0abc123_2026-11-20_0912-UTC_0.7.9.tar.gz

  # Ticket attachments: HTML, JSON and Markdown
  $ eks-node-diag analyze node.tar.gz --html report.html --json report.json --md report.md

  # An extracted folder, JSON to stdout for jq
  $ eks-node-diag analyze ./eks_i-0abc123/ --json - | jq '.rules[] | select(.verdict=="fail")'

  # Several bundles at once; fail the pipeline on any warning or worse
  $ eks-node-diag analyze bundles/*.tar.gz --html reports/ --json all.json --fail-on warning

Exit codes: 0 analyzed, 1 an input could not be read, 2 usage error, 3 a finding at or above --fail-on.
`;

export function buildProgram(io: { out: (text: string) => void; err: (text: string) => void; isTTY: boolean }) {
  const program = new Command();
  program
    .name('eks-node-diag')
    .description('Collect and analyze Amazon EKS worker-node networking diagnostics (VPC CNI, kubelet, iptables).')
    .version(TOOL_VERSION, '-V, --version')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage and examples)');

  program
    .command('analyze')
    .description('Analyze node bundles (ours, eks-log-collector.sh / aws-cni-support.sh, legacy) and write reports')
    .argument('<bundle...>', '.tar.gz, .tgz or .tar bundles, or extracted folders')
    .option('--html <file>', 'write the self-contained HTML report (a folder when several bundles are given)')
    .option('--json <file>', "write the JSON report (schema eks-node-diag/report@1); '-' for stdout")
    .option('--md <file>', 'write the findings as Markdown for a ticket comment')
    .addOption(
      new Option('--fail-on <severity>', 'exit 3 when a finding is at or above this severity').choices([
        'warning',
        'critical',
      ]),
    )
    .addHelpText('after', ANALYZE_EXAMPLES)
    .action(
      async (
        inputs: string[],
        options: { html?: string; json?: string; md?: string; failOn?: 'warning' | 'critical' },
      ) => {
        const { analyze } = await import('../analyzer/commands/analyze.ts');
        const { renderTerminal } = await import('../analyzer/report/terminal.ts');
        const outcome = await analyze({
          inputs,
          html: options.html,
          json: options.json,
          markdown: options.md,
          failOn: options.failOn,
        });
        // With `--json -` stdout carries only the JSON; the human summary goes to stderr.
        const human = options.json === '-' ? io.err : io.out;
        for (const report of outcome.reports) human(renderTerminal(report, { color: io.isTTY }));
        for (const file of outcome.written) human(`${file.kind} report: ${file.path}\n`);
        for (const problem of outcome.unreadable)
          io.err(`eks-node-diag: cannot analyze ${problem.input}: ${problem.reason}\n`);
        if (outcome.stdoutJson) io.out(outcome.stdoutJson);
        if (outcome.unreadable.length > 0) process.exitCode = EXIT.unreadable;
        else if (outcome.failedThreshold) process.exitCode = EXIT.findings;
      },
    );

  program
    .command('rules')
    .description('List the rule catalog')
    .option('--json', 'print the catalog as JSON')
    .addHelpText('after', '\nExamples:\n  $ eks-node-diag rules\n  $ eks-node-diag rules --json | jq -r ".[].id"\n')
    .action(async (options: { json?: boolean }) => {
      const { listRules } = await import('../analyzer/commands/rules.ts');
      io.out(listRules({ json: options.json === true }));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const io = {
    out: (text: string) => process.stdout.write(text),
    err: (text: string) => process.stderr.write(text),
    isTTY: process.stdout.isTTY === true,
  };
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.err(
      `eks-node-diag ${TOOL_VERSION}: internal error. Please report it with this text (paths may need scrubbing):\n${detail}\n`,
    );
    return EXIT.internal;
  }
}

// Run when executed (the esbuild bundle or the single executable), not when imported by tests.
const invokedDirectly = typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module;
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

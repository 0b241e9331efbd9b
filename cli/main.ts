/**
 * eks-node-diag command line. Parses, dispatches to command modules (loaded lazily so `--help` and `--version`
 * start fast), and holds the one place where outcomes and errors become exit codes:
 *   0 analyzed (no finding at or above --fail-on), 1 an input could not be read, 2 usage error,
 *   3 a finding at or above --fail-on, 4 collection refused (not enough disk), 5 the upload of a collected bundle
 *   failed, 6 a dispatch reached nodes that failed, 70 internal error.
 */
import { isSea } from 'node:sea';
import { Command, CommanderError, Option } from 'commander';
import { TOOL_VERSION } from '../analyzer/engine/version.ts';

/** Exit codes, in one place (`nodesFailed`: a dispatch ran and one or more nodes did not yield a bundle). */
export const EXIT = {
  ok: 0,
  unreadable: 1,
  usage: 2,
  findings: 3,
  refused: 4,
  uploadFailed: 5,
  nodesFailed: 6,
  internal: 70,
} as const;

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
    .argument('<bundle...>', ".tar.gz, .tgz or .tar bundles, extracted folders, or '-' for standard input")
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
    .command('collect')
    .description(
      'Collect a diagnostic bundle from this EKS node (run as root), or from a node root mounted with --root',
    )
    .option(
      '--out <file>',
      "bundle file, or '-' to stream it to stdout (default /var/log/eks_<instance-id>_<time>_eks-node-diag-<version>.tar.gz)",
    )
    .option('--since <duration>', 'journal window, e.g. 24h, 10d', '10d')
    .option('--root <dir>', "read files, journals and configs from this node root instead of '/'", '/')
    .option('--only <ids>', 'collect only these items (comma-separated ids; see --list)')
    .option('--skip <ids>', 'do not collect these items')
    .option('--deadline <duration>', 'whole-run deadline; the manifest is written when it passes', '5m')
    .option('--max-bytes <size>', 'total budget of collected bytes before compression', '2GiB')
    .option(
      '--upload-url <url>',
      'upload the bundle to S3 with this presigned PUT URL (https), or POST it here with --upload-form; nothing is kept on the node',
    )
    .option(
      '--upload-form <json>',
      'upload with a presigned POST form: a JSON file (or inline JSON) holding {"url", "fields"} as @aws-sdk/s3-presigned-post returns it, or the fields alone',
    )
    .option('--no-redact', 'do not redact secrets (keys, tokens, passwords) before writing')
    .option('--offline', "read only files under --root (a dead node's disk): no commands, endpoints or IMDS")
    .option('--list', 'print the inventory (id, bundle path, source, why) and exit')
    .addOption(new Option('--allow-http-upload', 'allow http:// upload URLs on loopback (tests)').hideHelp())
    .addOption(new Option('--item-timeout <duration>', "replace every item's time limit (tests)").hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  # On the node, as root: a bundle in /var/log, at most 5 minutes
  $ sudo eks-node-diag collect

  # Stream to stdout (nothing written on the node), e.g. through SSM or ssh
  $ sudo eks-node-diag collect --out - > node.tar.gz

  # Only the networking essentials, quickly
  $ sudo eks-node-diag collect --only iptables-save,ip-route,ip-rule,ipamd-enis,kubelet-log --deadline 60s

  # A dead node's root volume mounted at /mnt/node
  $ sudo eks-node-diag collect --root /mnt/node --offline --out node.tar.gz

  # Straight to S3 with a presigned PUT URL (quote it: it contains '&'); stdout gets s3://bucket/key
  $ sudo eks-node-diag collect --upload-url 'https://my-bucket.s3.eu-west-1.amazonaws.com/node.tar.gz?X-Amz-...'

  # With a presigned POST form limited to a key prefix (key "<prefix>/\${filename}" gets the bundle's name)
  $ sudo eks-node-diag collect --upload-form /tmp/upload-form.json

Exit codes: 0 collected, 1 the bundle could not be written (output failed), 2 usage error, 4 not enough free disk
(refused before writing, or the disk filled up while writing: the partial file is removed), 128+N stopped by signal N
(the bundle and its manifest were still written), 5 the upload failed after its retries (nothing is kept on the node).
`,
    )
    .action(
      async (options: {
        out?: string;
        since: string;
        root: string;
        only?: string;
        skip?: string;
        deadline: string;
        maxBytes: string;
        uploadUrl?: string;
        uploadForm?: string;
        redact: boolean;
        offline?: boolean;
        list?: boolean;
        allowHttpUpload?: boolean;
        itemTimeout?: string;
      }) => {
        if (options.list) {
          const { inventory } = await import('../agent/items/index.ts');
          const { describeSource } = await import('../agent/collect/run-items.ts');
          for (const item of inventory)
            io.out(`${item.id}\t${item.out}\t${describeSource(item.source)}\t${item.why}\n`);
          return;
        }
        const { collect } = await import('../agent/commands/collect.ts');
        const outcome = await collect(options, { progress: (line) => io.err(`${line}\n`), stdout: process.stdout });
        const counts = new Map<string, number>();
        for (const item of outcome.manifest.items) counts.set(item.status, (counts.get(item.status) ?? 0) + 1);
        io.err(
          `collected: ${[...counts].map(([status, count]) => `${count} ${status}`).join(', ')}; ${outcome.compressedBytes} bytes compressed${outcome.interrupted ? ' (interrupted: see manifest.json)' : ''}\n`,
        );
        if (outcome.target !== '-') io.out(`${outcome.target}\n`);
        if (outcome.signal) process.exitCode = 128 + (outcome.signal === 'SIGINT' ? 2 : 15);
      },
    );

  program
    .command('dispatch')
    .description(
      'Collect bundles from one node or a whole cluster through AWS Systems Manager, download them, optionally analyze',
    )
    .option('--instance-ids <ids>', 'comma-separated EC2 instance ids (at most 50; use --cluster or --tag beyond)')
    .option(
      '--cluster <name>',
      'every node of this EKS cluster (tag eks:cluster-name, else kubernetes.io/cluster/NAME)',
    )
    .option('--tag <key=value>', 'every managed node carrying this EC2 tag')
    .option('--bucket <bucket>', 'S3 bucket for the agent binaries and the bundles (required)')
    .option('--prefix <prefix>', 'key prefix in the bucket', 'eks-node-diag')
    .option('--region <region>', 'AWS region (default: AWS_REGION or the profile)')
    .option('--profile <profile>', 'shared config/credentials profile (default: AWS_PROFILE or default)')
    .option('--max-concurrency <n|n%>', 'nodes collecting at once (SSM MaxConcurrency)', '50')
    .option('--max-errors <n|n%>', 'failed nodes after which SSM stops sending (SSM MaxErrors)', '100%')
    .option('--timeout <duration>', 'how long each node may run before SSM stops it', '15m')
    .option('--since <duration>', 'journal window collected on each node', '24h')
    .option('--out <dir>', 'where bundles, reports and dispatch.json go (default ./eks-node-diag-dispatch-<time>)')
    .option('--analyze', 'analyze each bundle and write its report plus a fleet index.html')
    .option('--keep-on-node', 'leave the agent and the bundle on each node (/var/log/eks-node-diag)')
    .option('--install-document', 'create or update the SSM document EKSNodeDiag-Collect (or --document) and use it')
    .option('--document <name>', 'run through this installed SSM document instead of AWS-RunShellScript inline')
    .option('--agent-dir <dir>', 'folder holding eks-node-diag-agent-linux-{x64,arm64} (default: beside this program)')
    .addOption(new Option('--poll-interval <duration>', 'first pause between status polls (tests)').hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  # Three nodes by instance id; bundles land in ./eks-node-diag-dispatch-<time>/
  $ eks-node-diag dispatch --instance-ids i-0abc123def4567890,i-0def456abc7890123 --bucket my-diag-bucket

  # A whole cluster, at most 20% of the nodes at once, reports and a fleet index at the end
  $ eks-node-diag dispatch --cluster prod --bucket my-diag-bucket --max-concurrency 20% --analyze --out ./prod-diag

  # One node group by tag, in another account and region, with a key prefix of your own
  $ eks-node-diag dispatch --tag eks:nodegroup-name=workers --bucket diag-eu --prefix tickets/12345 \\
      --profile support --region eu-west-1

  # Stop sending after 5 failed nodes; 10 minutes per node; 6 hours of journal
  $ eks-node-diag dispatch --cluster prod --bucket my-diag-bucket --max-errors 5 --timeout 10m --since 6h

  # Install (or update) the SSM document once, then run through it with only ssm:SendCommand on that document
  $ eks-node-diag dispatch --cluster prod --bucket my-diag-bucket --install-document
  $ eks-node-diag dispatch --cluster prod --bucket my-diag-bucket --document EKSNodeDiag-Collect

  # Keep the agent and the bundle on each node; agents from a folder of your own
  $ eks-node-diag dispatch --instance-ids i-0abc123def4567890 --bucket my-diag-bucket --keep-on-node --agent-dir ./dist

Endpoints, credentials and retries come from the AWS SDK's standard configuration: AWS_PROFILE, AWS_REGION,
AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_S3 (VPC or FIPS endpoints), AWS_RETRY_MODE and
AWS_MAX_ATTEMPTS (default here: standard, 10 attempts). Nodes need only AmazonSSMManagedInstanceCore: they fetch the
agent and upload through presigned URLs. Ctrl-C cancels the command and waits for the nodes to stop.

Exit codes: 0 every node's bundle collected, 1 the dispatch could not run (AWS or S3 error), 2 usage error,
6 one or more nodes failed (see the table).
`,
    )
    .action(async (options: Record<string, string | boolean | undefined>) => {
      const { dispatch } = await import('../agent/dispatch/dispatch.ts');
      const cancel = new AbortController();
      const stopWaiting = () => process.exit(130);
      const firstInterrupt = () => {
        cancel.abort();
        process.once('SIGINT', stopWaiting);
      };
      process.once('SIGINT', firstInterrupt);
      try {
        const result = await dispatch(options, {
          out: io.out,
          err: io.err,
          errIsTTY: process.stderr.isTTY === true,
          cancel: cancel.signal,
        });
        if (result.failed > 0) process.exitCode = EXIT.nodesFailed;
      } finally {
        process.off('SIGINT', firstInterrupt);
        process.off('SIGINT', stopWaiting);
      }
    });

  program
    .command('rules')
    .description('List the rule catalog')
    .option('--json', 'print the catalog as JSON')
    .addOption(new Option('--md', 'print the catalog as Markdown (the page docs/rules.md holds)').conflicts('json'))
    .addHelpText(
      'after',
      '\nExamples:\n  $ eks-node-diag rules\n  $ eks-node-diag rules --json | jq -r ".[].id"\n  $ eks-node-diag rules --md > docs/rules.md\n',
    )
    .action(async (options: { json?: boolean; md?: boolean }) => {
      const { listRules } = await import('../analyzer/commands/rules.ts');
      io.out(listRules({ json: options.json === true, markdown: options.md === true }));
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
    // Typed errors with a stable code carry a message written for the user: no stack, just what to do.
    const code = (error as { code?: unknown }).code;
    if (code === 'ENDIAG_USAGE') {
      io.err(`eks-node-diag: ${(error as Error).message}\n`);
      return EXIT.usage;
    }
    if (code === 'ENDIAG_DISPATCH') {
      io.err(`eks-node-diag: ${(error as Error).message}\n`);
      return EXIT.unreadable;
    }
    if (code === 'ENDIAG_UPLOAD') {
      io.err(`eks-node-diag: upload failed: ${(error as Error).message}\n`);
      return EXIT.uploadFailed;
    }
    if (code === 'ENDIAG_DISK_FULL') {
      io.err(`eks-node-diag: ${(error as Error).message}\n`);
      return EXIT.refused;
    }
    if (code === 'ENDIAG_OUTPUT') {
      io.err(`eks-node-diag: ${(error as Error).message}\n`);
      return EXIT.unreadable;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.err(
      `eks-node-diag ${TOOL_VERSION}: internal error. Please report it with this text (paths may need scrubbing):\n${detail}\n`,
    );
    return EXIT.internal;
  }
}

// Run when executed (the esbuild bundle, or the single executable, whose embedded script need not be require.main),
// not when imported by tests: there cli/main.ts is an ES module and `require` is undefined.
const invokedDirectly =
  isSea() || (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

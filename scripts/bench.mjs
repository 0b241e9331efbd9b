// Analyzer benchmark: generates stock-layout bundles with large kubelet journals and ipamd logs, then measures the
// analyzer (the built CLI, as users run it) against two baselines measured in the same run on the same archive:
//   - `gzip -dc` of the archive (the system's inflater),
//   - a bare Node pass that only inflates the archive and finds every line end (the floor for any JS analyzer).
// Prints throughput (uncompressed MB/s), peak RSS and the ratios. Targets: <= 1.0 x gzip -dc, <= 2.0 x bare pass,
// peak RSS <= 200 MB and flat across sizes. Nothing here is asserted: it prints, people judge.
//
//   npm run bench                         # 256 MiB and 1 GiB bundles, 2 runs each (best taken)
//   BENCH_SIZES=64,256 npm run bench      # sizes in MiB
//   BENCH_RUNS=3 npm run bench
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from './bench-data.mjs';

const MiB = 1024 * 1024;
const sizes = (process.env.BENCH_SIZES ?? '256,1024').split(',').map((s) => Number(s.trim()) * MiB);
const runs = Number(process.env.BENCH_RUNS ?? 2);
const dataDir = resolve('bench-data');
const cli = resolve('dist/eks-node-diag.cjs');
mkdirSync(dataDir, { recursive: true });

function timed(command, args, options = {}) {
  let best;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(command, args, { maxBuffer: 64 * MiB, ...options });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
    const peak = /BENCH_PEAK_RSS_KB=(\d+)/.exec(String(result.stderr))?.[1];
    const run = { seconds, peakRssMiB: peak ? Number(peak) / 1024 : undefined, stdout: String(result.stdout) };
    if (!best || run.seconds < best.seconds) best = run;
  }
  return best;
}

// Reports the process's peak RSS (VmHWM) when it exits; preloaded into the measured Node processes.
const rssPreload = join(dataDir, 'peak-rss.cjs');
writeFileSync(
  rssPreload,
  `process.on('exit', () => { const s = require('fs').readFileSync('/proc/self/status', 'utf8'); process.stderr.write('BENCH_PEAK_RSS_KB=' + /VmHWM:\\s+(\\d+)/.exec(s)[1] + '\\n'); });\n`,
);
const barePass = `
const { createReadStream } = require('node:fs');
const { createGunzip } = require('node:zlib');
let lines = 0, bytes = 0;
createReadStream(process.argv[1], { highWaterMark: 64 * 1024 }).pipe(createGunzip({ chunkSize: 256 * 1024 }))
  .on('data', (chunk) => { bytes += chunk.length; let at = chunk.indexOf(10); while (at !== -1) { lines++; at = chunk.indexOf(10, at + 1); } })
  .on('end', () => console.log(JSON.stringify({ lines, bytes })));
`;

if (!existsSync(cli)) throw new Error('dist/eks-node-diag.cjs is missing: run `npm run build` (npm run bench does)');
console.log(`eks-node-diag analyzer benchmark (node ${process.version}, ${runs} run(s) per measure, best taken)\n`);
const rows = [];
for (const size of sizes) {
  const archive = await generate(size, dataDir);
  const gzip = timed('sh', ['-c', `gzip -dc "${archive}" > /dev/null`]);
  const bare = timed(process.execPath, ['--require', rssPreload, '-e', barePass, archive]);
  const { bytes } = JSON.parse(bare.stdout);
  const analyzer = timed(process.execPath, ['--require', rssPreload, cli, 'analyze', archive, '--json', '/dev/null']);
  rows.push({
    archive: `${(statSync(archive).size / MiB).toFixed(0)} MiB gz / ${(bytes / MiB).toFixed(0)} MiB`,
    'analyzer s': analyzer.seconds.toFixed(2),
    'MB/s': (bytes / 1e6 / analyzer.seconds).toFixed(0),
    'peak RSS MiB': analyzer.peakRssMiB?.toFixed(0),
    'gzip -dc s': gzip.seconds.toFixed(2),
    'bare node s': bare.seconds.toFixed(2),
    'vs gzip -dc': (analyzer.seconds / gzip.seconds).toFixed(2),
    'vs bare node': (analyzer.seconds / bare.seconds).toFixed(2),
  });
}
console.table(rows);
console.log('targets: vs gzip -dc <= 1.00, vs bare node <= 2.00, peak RSS <= 200 MiB and flat across sizes');

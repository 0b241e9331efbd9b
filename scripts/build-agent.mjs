// Builds the agent as a Node 24 single executable (SEA) for linux x64 and arm64:
//   dist/eks-node-diag-agent-linux-x64, dist/eks-node-diag-agent-linux-arm64, and a `.sha256` beside each.
// The CLI bundle (same esbuild options as scripts/build.mjs) becomes the SEA blob, made by the Node running this
// script; the target binaries are the official builds of that very version (`npm pack node-linux-<arch>@<version>`),
// because a blob from another version crashes the binary. They are stripped BEFORE injection: stripping after breaks
// them.
//
//   npm run build:agent                 # build, then print sizes, gzipped sizes and `--version` start-up times
//   npm run build:agent -- --no-measure # build only (what the tests use)
//
// Needs: Node 24 (through npm), `strip`, `aarch64-linux-gnu-strip` (Debian binutils-aarch64-linux-gnu), the npm
// registry or its cache. Optional: `qemu-aarch64-static` and /usr/aarch64-linux-gnu to time the arm64 binary.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { basename, join, relative, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { build } from 'esbuild';
import { CLI_ENTRY, cliBuildOptions } from './esbuild-options.mjs';

const root = resolve(import.meta.dirname, '..');
const NODE_VERSION = process.versions.node;
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const work = join(root, '.cache', 'sea');
const binaryCache = join(root, '.cache', 'node-binaries', NODE_VERSION);
const dist = join(root, 'dist');

const TARGETS = [
  { arch: 'x64', strip: 'strip' },
  { arch: 'arm64', strip: 'aarch64-linux-gnu-strip' },
];

/** Packages that must stay behind a lazy `import()`: `--version` and `--help` should not evaluate them. */
const HEAVY_PACKAGES = ['handlebars', 'tar', 'execa', 'zod', '@aws-sdk', '@smithy', 'systeminformation'];

function fail(message) {
  console.error(`build-agent: ${message}`);
  process.exit(1);
}

function run(program, args, options = {}) {
  const result = spawnSync(program, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) fail(`${program} could not run: ${result.error.message}`);
  if (result.status !== 0) fail(`${program} ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  return result;
}

/**
 * Which bundled inputs run at start-up: everything reachable from the entry through static imports and require
 * calls. Modules reached only through `import()` are wrapped by esbuild and evaluated when first imported.
 */
function startupPath(metafile, entry = CLI_ENTRY) {
  const eager = new Set();
  const pending = [entry];
  while (pending.length > 0) {
    const path = pending.pop();
    if (eager.has(path) || !metafile.inputs[path]) continue;
    eager.add(path);
    for (const imported of metafile.inputs[path].imports) {
      if (imported.kind !== 'dynamic-import' && !imported.external) pending.push(imported.path);
    }
  }
  const output = Object.values(metafile.outputs).find((candidate) => candidate.entryPoint === entry);
  const bytesOf = (path) => output?.inputs[path]?.bytesInOutput ?? 0;
  const all = Object.keys(output?.inputs ?? {});
  const packageOf = (path) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? '(project)';
  const byPackage = (paths) => {
    const sizes = new Map();
    for (const path of paths) sizes.set(packageOf(path), (sizes.get(packageOf(path)) ?? 0) + bytesOf(path));
    return Object.fromEntries([...sizes].sort((a, b) => b[1] - a[1]));
  };
  const eagerPaths = all.filter((path) => eager.has(path));
  const lazyPaths = all.filter((path) => !eager.has(path));
  const sum = (paths) => paths.reduce((total, path) => total + bytesOf(path), 0);
  return {
    eager: { modules: eagerPaths.length, bytes: sum(eagerPaths), packages: byPackage(eagerPaths) },
    lazy: { modules: lazyPaths.length, bytes: sum(lazyPaths), packages: byPackage(lazyPaths) },
    heavyAtStartup: HEAVY_PACKAGES.filter((name) =>
      eagerPaths.some((path) => packageOf(path) === name || packageOf(path).startsWith(`${name}/`)),
    ),
  };
}

async function bundle() {
  const outfile = join(work, 'eks-node-diag-agent.cjs');
  const result = await build({
    ...cliBuildOptions,
    absWorkingDir: root,
    outfile,
    // The SEA runs the script as a CommonJS module body: no shebang, and a source map would not ship with it.
    banner: {},
    sourcemap: false,
    minify: true,
    metafile: true,
  });
  await writeFile(join(work, 'metafile.json'), JSON.stringify(result.metafile));
  return { outfile, metafile: result.metafile };
}

async function makeBlob(script) {
  const blob = join(work, 'sea-prep.blob');
  const config = join(work, 'sea-config.json');
  // No code cache or snapshot: those are tied to the building machine's architecture; one blob serves both.
  await writeFile(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true }));
  run(process.execPath, ['--experimental-sea-config', config], { cwd: root });
  return blob;
}

/** The official `node` of this exact version for `arch`, from the npm registry (or npm's cache) once. */
async function targetNode(arch) {
  const cached = join(binaryCache, `node-linux-${arch}`);
  if (existsSync(cached)) return cached;
  await mkdir(binaryCache, { recursive: true });
  const scratch = await mkdtemp(join(binaryCache, `.pack-${arch}-`));
  try {
    const packed = run('npm', ['pack', `node-linux-${arch}@${NODE_VERSION}`, '--json', '--pack-destination', scratch], {
      cwd: root,
    });
    const [{ filename }] = JSON.parse(packed.stdout);
    run('tar', ['-xzf', join(scratch, filename), '-C', scratch, 'package/bin/node']);
    await rename(join(scratch, 'package', 'bin', 'node'), cached);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return cached;
}

function countOf(haystack, needle) {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) count++;
  return count;
}

async function sha256Of(file) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

async function buildBinary({ arch, strip }, blob) {
  const pristine = await targetNode(arch);
  if (arch === process.arch) {
    const version = run(pristine, ['--version']).stdout.trim();
    if (version !== `v${NODE_VERSION}`) fail(`${pristine} is ${version}, expected v${NODE_VERSION}`);
  }
  const target = join(dist, `eks-node-diag-agent-linux-${arch}`);
  const partial = `${target}.partial`;
  await copyFile(pristine, partial);
  await chmod(partial, 0o755);
  run(strip, [partial]);
  // postject's wasm module prints a warning per ELF note section it cannot name (harmless); running it in a child
  // lets everything else it says through.
  const inject = `const blob = require('fs').readFileSync(process.argv[2]);
    require('postject')
      .inject(process.argv[1], 'NODE_SEA_BLOB', blob, { sentinelFuse: '${SEA_FUSE}' })
      .catch((error) => { console.error(error.message); process.exit(1); });`;
  const injected = run(process.execPath, ['-e', inject, partial, blob], { cwd: root });
  const noise = /^warning: Can't find string offset for section name/;
  const warnings = `${injected.stdout}${injected.stderr}`
    .split('\n')
    .filter((line) => line.trim() && !noise.test(line));
  if (warnings.length > 0) console.warn(warnings.join('\n'));
  const bytes = await readFile(partial);
  if (countOf(bytes, `${SEA_FUSE}:1`) !== 1 || countOf(bytes, `${SEA_FUSE}:0`) !== 0) {
    fail(`${basename(partial)}: the SEA fuse is not flipped exactly once; the blob was not injected`);
  }
  // Never leave a binary beside a checksum of its predecessor, even if this run dies between the two writes.
  await rm(`${target}.sha256`, { force: true });
  await rename(partial, target);
  const digest = await sha256Of(target);
  await writeFile(`${target}.sha256`, `${digest}  ${basename(target)}\n`);
  return { arch, path: target, sha256: digest };
}

async function gzippedSize(file) {
  let size = 0;
  const counter = new Writable({
    write(chunk, _encoding, done) {
      size += chunk.length;
      done();
    },
  });
  await pipeline(createReadStream(file), createGzip(), counter);
  return size;
}

/** Wall time of `--version`, best and median of `runs`. */
function startupTimes(command, args, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) fail(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    times.push(seconds);
  }
  times.sort((a, b) => a - b);
  return { best: times[0], median: times[Math.floor(times.length / 2)] };
}

const MiB = 1024 * 1024;
const seconds = (value) => `${value.toFixed(3)} s`;

async function measure(binary) {
  const { size } = await stat(binary.path);
  const gzipped = await gzippedSize(binary.path);
  let startup;
  if (binary.arch === process.arch) {
    const { best, median } = startupTimes(binary.path, ['--version'], 7);
    startup = `--version ${seconds(best)} best, ${seconds(median)} median of 7`;
  } else if (binary.arch === 'arm64' && existsSync('/usr/aarch64-linux-gnu') && which('qemu-aarch64-static')) {
    const { best, median } = startupTimes(
      'qemu-aarch64-static',
      ['-L', '/usr/aarch64-linux-gnu', binary.path, '--version'],
      3,
    );
    startup =
      `--version ${seconds(best)} best, ${seconds(median)} median of 3 ` +
      '(EMULATED under qemu-aarch64-static, not a real arm64 figure)';
  } else {
    startup = 'start-up not measured (no way to run this architecture here)';
  }
  console.log(
    `${relative(root, binary.path)}: ${(size / MiB).toFixed(1)} MiB, ` +
      `${(gzipped / MiB).toFixed(1)} MiB gzipped; ${startup}`,
  );
}

function which(program) {
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
}

async function main() {
  const major = Number(NODE_VERSION.split('.')[0]);
  if (major < 24) fail(`Node ${NODE_VERSION} is running this script; run it through npm (\`npm run build:agent\`)`);
  for (const { strip } of TARGETS) {
    if (!which(strip)) fail(`\`${strip}\` is missing: apt-get install -y binutils binutils-aarch64-linux-gnu`);
  }
  const measureAfter = !process.argv.includes('--no-measure');
  await mkdir(work, { recursive: true });
  await mkdir(dist, { recursive: true });

  const { outfile, metafile } = await bundle();
  const startup = startupPath(metafile);
  await writeFile(join(work, 'startup-path.json'), `${JSON.stringify(startup, null, 2)}\n`);
  const KiB = (bytes) => `${Math.round(bytes / 1024)} KiB`;
  const eagerPackages = Object.entries(startup.eager.packages).map(([name, bytes]) => `${name} ${KiB(bytes)}`);
  console.log(
    `bundle: ${KiB(startup.eager.bytes + startup.lazy.bytes)} minified; ` +
      `evaluated at start-up: ${startup.eager.modules} modules, ${KiB(startup.eager.bytes)} ` +
      `(${eagerPackages.join(', ')}); ` +
      `behind import(): ${startup.lazy.modules} modules, ${KiB(startup.lazy.bytes)}`,
  );
  // Inside a single executable `require` reaches only Node's built-in modules: anything left outside the bundle would
  // fail on the node, at the moment it is first needed.
  const unbundled = new Set();
  for (const [importer, input] of Object.entries(metafile.inputs)) {
    for (const imported of input.imports) {
      if (imported.external && imported.path !== '<runtime>' && !isBuiltin(imported.path)) {
        unbundled.add(`${imported.path} (from ${importer})`);
      }
    }
  }
  if (unbundled.size > 0)
    fail(`modules left outside the bundle cannot load in the executable: ${[...unbundled].join(', ')}`);
  if (startup.heavyAtStartup.length > 0) {
    fail(`heavy packages are evaluated at start-up: ${startup.heavyAtStartup.join(', ')}; import them lazily`);
  }

  const blob = await makeBlob(outfile);
  const binaries = [];
  for (const target of TARGETS) binaries.push(await buildBinary(target, blob));
  for (const binary of binaries) console.log(`${relative(root, binary.path)}: sha256 ${binary.sha256}`);
  if (measureAfter) for (const binary of binaries) await measure(binary);
}

await main();

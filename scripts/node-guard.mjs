// npm itself may run on an older system Node; the project needs Node 24 from the `node@24` dev dependency.
// Without it (for example after `npm ci --ignore-scripts`) vitest and the bundle fail obscurely, so say why here.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `eks-node-diag needs Node 24 or newer, but this is Node ${process.versions.node}.\n` +
      'Run `npm ci` (with install scripts enabled) so the `node` dev dependency provides Node 24, ' +
      'then use `npm test` / `npm start` / `npm run ...`, which put node_modules/.bin first on PATH.',
  );
  process.exit(1);
}

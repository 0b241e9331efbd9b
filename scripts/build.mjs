// Bundles the CLI into one CommonJS file that runs on Node 24 (scripts/build-agent.mjs turns the same code into the
// single executable).
import { build } from 'esbuild';
import { cliBuildOptions } from './esbuild-options.mjs';

await build(cliBuildOptions);

/** The tool's name and version as reports and manifests record them (esbuild inlines package.json). */
import packageJson from '../../package.json' with { type: 'json' };

export const TOOL_NAME = 'eks-node-diag';
export const TOOL_VERSION: string = packageJson.version;

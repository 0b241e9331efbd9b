/**
 * The launch check the SSM node script runs before the single executable: official Node 24 binaries need glibc 2.28,
 * and Amazon Linux 2 has 2.26. The script text is embedded as is (POSIX sh, safe under `set -eu`).
 */
import checkGlibcScript from './check-glibc.sh?raw';

export const MINIMUM_GLIBC = '2.28';

/** Exit status of the node script when the agent cannot run on the node's glibc (distinct from the agent's own). */
export const GLIBC_TOO_OLD_EXIT_CODE = 42;

/** Prefix of the line the check prints (to stderr) on a node whose glibc is too old. */
export const GLIBC_TOO_OLD_MESSAGE_PREFIX = "eks-node-diag: this node's glibc ";

export const CHECK_GLIBC_SH: string = checkGlibcScript;

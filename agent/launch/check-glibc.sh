# eks-node-diag launch check (POSIX sh), embedded in the SSM node script before the agent starts: the agent is an
# official Node 24 build, which needs glibc 2.28 or newer. Amazon Linux 2 has 2.26, where the binary would only fail
# with loader errors, so say so plainly and exit 42, a status of its own that the dispatcher reports as "agent not
# supported".
# Safe under `set -eu`; variables are prefixed so they do not clash with the embedding script's.
eks_node_diag_glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p') ||
  true
if [ -z "$eks_node_diag_glibc" ]; then
  # The first line of `ldd --version` ends with it: "ldd (GNU libc) 2.26", "ldd (Debian GLIBC 2.36-9) 2.36".
  eks_node_diag_glibc=$(ldd --version 2>/dev/null | sed -n '1s/.*[^0-9.]\([0-9][0-9]*\.[0-9][0-9]*\)[^0-9]*$/\1/p') ||
    true
fi
case "$eks_node_diag_glibc" in
  [0-9]*.[0-9]*)
    eks_node_diag_glibc_major=${eks_node_diag_glibc%%.*}
    eks_node_diag_glibc_minor=${eks_node_diag_glibc#*.}
    if [ "$eks_node_diag_glibc_major" -lt 2 ] ||
      { [ "$eks_node_diag_glibc_major" -eq 2 ] && [ "$eks_node_diag_glibc_minor" -lt 28 ]; }; then
      printf "eks-node-diag: this node's glibc %s is older than 2.28 (Amazon Linux 2?); %s\n" \
        "$eks_node_diag_glibc" 'the agent cannot run here' >&2
      exit 42
    fi
    ;;
  *)
    echo 'eks-node-diag: could not tell the glibc version (getconf and ldd gave none); starting the agent anyway' >&2
    ;;
esac

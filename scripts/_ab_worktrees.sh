# Shared by the A/B scripts (bench_ab_commits.sh, bench_decode_ab.sh): source it with the script's usage line, then
# call `ab_worktrees "$@"`. It checks OLD NEW ROUNDS OUT, checks both out into temporary worktrees (removed on exit)
# and sets old, new, rounds, out (absolute), trees ($trees/old, $trees/new) and args (the bench script's arguments).
ab_worktrees() {
  if [ $# -lt 4 ]; then
    echo "error: usage: $AB_USAGE" >&2
    exit 2
  fi
  old=$1 new=$2 rounds=$3 out=$4
  shift 4
  args=("$@")
  for rev in "$old" "$new"; do
    git rev-parse --verify --quiet "$rev^{commit}" > /dev/null || { echo "error: '$rev' is not a commit here" >&2; exit 2; }
  done
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  trees=$(mktemp -d)
  trap 'git worktree remove --force "$trees/old" 2>/dev/null; git worktree remove --force "$trees/new" 2>/dev/null; rm -rf "$trees"' EXIT
  git worktree add --quiet --detach "$trees/old" "$old"
  git worktree add --quiet --detach "$trees/new" "$new"
}

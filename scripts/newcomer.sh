#!/usr/bin/env bash
# The README's quick start exactly as written: its first two ```bash blocks (the demo, then
# the tests), each run in a fresh copy of the repository's tracked files, timed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mapfile -t commands < <(awk '/^```bash$/{inside=1; next} /^```$/{inside=0} inside' "$root/README.md" | head -n 2)
if [ "${#commands[@]}" -ne 2 ]; then
    echo "newcomer: the README's quick start should start with two \`\`\`bash blocks" >&2
    exit 1
fi
for command in "${commands[@]}"; do
    work="$(mktemp -d)"
    (cd "$root" && git ls-files -z | xargs -0 tar -cf -) | (cd "$work" && tar -xf -)
    echo "\$ $command   (in a fresh copy: $work)"
    start=$SECONDS
    (cd "$work" && env -u VIRTUAL_ENV bash -c "$command")
    echo "newcomer: done in $((SECONDS - start)) s"
    rm -rf "$work"
done

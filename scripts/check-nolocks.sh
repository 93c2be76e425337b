#!/usr/bin/env bash
# Checks the two facts the real-time safety argument rests on:
#  1. this toolchain enforces @_noLocks: a probe that allocates a class instance
#     must be rejected, and a clean loop must compile;
#  2. `_unsafePerformance` (which switches the check off for one call) appears
#     only in Sources/**/Trusted*.swift, the audit list of trusted C calls,
#     which is printed as "file: function".
# Exits non-zero, with a short message, when either fails.
set -euo pipefail
cd "$(dirname "$0")/.."

probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT

# Compiles one probe file with optimisation (the checks run in the optimizer).
compile_probe() {
    swiftc -O -parse-as-library -emit-object "$1" -o "${1%.swift}.o" \
        > "${1%.swift}.log" 2>&1
}

echo "== @_noLocks enforcement ($(swiftc --version 2>&1 | head -n 1))"

cat > "$probe_dir/allocates.swift" <<'EOF'
public final class Probe { public var value = 0 }
@_noLocks
public func allocates() -> Int { Probe().value }
EOF
if compile_probe "$probe_dir/allocates.swift"; then
    echo "FAIL: a @_noLocks function that allocates a class instance compiled;" >&2
    echo "      this toolchain does not enforce @_noLocks." >&2
    exit 1
fi
if ! grep -Eq 'error: .*(allocat|lock)' "$probe_dir/allocates.log"; then
    echo "FAIL: the allocating probe failed, but not with a @_noLocks diagnostic:" >&2
    cat "$probe_dir/allocates.log" >&2
    exit 1
fi
echo "ok: allocating probe rejected: $(grep -Eo 'error: .*(allocat|lock).*' "$probe_dir/allocates.log" | head -n 1)"

cat > "$probe_dir/clean.swift" <<'EOF'
@_noLocks
public func sum(_ values: UnsafeBufferPointer<Float>) -> Float {
    var total: Float = 0
    for value in values { total += value }
    return total
}
EOF
if ! compile_probe "$probe_dir/clean.swift"; then
    echo "FAIL: a clean @_noLocks loop did not compile:" >&2
    cat "$probe_dir/clean.log" >&2
    exit 1
fi
echo "ok: clean @_noLocks loop compiles"

echo "== _unsafePerformance only in Sources/**/Trusted*.swift"

# Every code line (comments excluded) that uses _unsafePerformance, as file:line:text.
uses=$(grep -rn --include='*.swift' '_unsafePerformance' Sources \
    | grep -Ev '^[^:]+:[0-9]+:[[:space:]]*//' || true)

misplaced=$(printf '%s\n' "$uses" | grep -Ev '^([^:]*/)?Trusted[^/:]*\.swift:' | grep -v '^$' || true)
if [[ -n "$misplaced" ]]; then
    echo "FAIL: _unsafePerformance outside a Trusted*.swift file:" >&2
    printf '%s\n' "$misplaced" | sed 's/^/  /' >&2
    echo "      Move the C call into a wrapper in a Trusted*.swift file." >&2
    exit 1
fi

# The audit list: for each use, the function that encloses it.
audit=$(printf '%s\n' "$uses" | cut -d: -f1 | sort -u | while read -r file; do
    [[ -n "$file" ]] || continue
    awk -v file="$file" '
        /^[[:space:]]*\/\// { next }
        match($0, /func [A-Za-z_][A-Za-z0-9_]*/) { name = substr($0, RSTART + 5, RLENGTH - 5) }
        /_unsafePerformance/ { print file ": " name }
    ' "$file"
done)
if [[ -z "$audit" ]]; then
    echo "ok: no trusted C calls"
else
    echo "ok: trusted C calls ($(printf '%s\n' "$audit" | wc -l)):"
    printf '%s\n' "$audit" | sed 's/^/  /'
fi

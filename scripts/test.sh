#!/usr/bin/env bash
# The test command: installs what is missing, proves the real-time annotations
# with a release build, then runs every test (unit tests and the integration
# tests, which start their own private jackd).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/install-deps.sh
bash scripts/check-nolocks.sh
echo "== release build (checks every @_noLocks function)"
swift build -c release
echo "== tests (release: what ships, and fast enough for the real-time tests on small machines)"
swift test -c release
echo "== sanitizers (ThreadSanitizer and AddressSanitizer passes, debug builds)"
bash scripts/sanitizers.sh

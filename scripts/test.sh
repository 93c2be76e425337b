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
env -u WASAPI_JACK_CHAOS_SECONDS swift test -c release  # the chaos test runs last, alone
echo "== sanitizers (ThreadSanitizer and AddressSanitizer passes, debug builds)"
bash scripts/sanitizers.sh
# Last and alone: it kills jackd with SIGKILL over and over, and a killed jackd
# can leave locks in the metadata database every JACK process of this user
# shares (see docs/ARCHITECTURE.md, "When the server goes away").
echo "== chaos (jackd killed and restarted at random under API calls: ${WASAPI_JACK_CHAOS_SECONDS:=45} s)"
WASAPI_JACK_CHAOS_SECONDS=$WASAPI_JACK_CHAOS_SECONDS swift test -c release --skip-build --disable-xctest \
    --filter "ChaosTests/killAndRestart"

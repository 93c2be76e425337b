#!/usr/bin/env bash
# Sanitizer passes (issue 14), run by scripts/test.sh after the normal tests.
# Debug builds (the thread-role checks are on), each in its own scratch path so
# that the normal .build stays as it is. Both passes are bounded by `timeout`.
#
# ThreadSanitizer: the real-time primitives and every WASAPI suite that runs on
# the simulated engine (no jackd). `-DWASAPI_JACK_TSAN` makes the library's
# `Mutex` the pthread-based `SanitizerMutex`, which TSan understands (see
# Sources/Realtime/SanitizerMutex.swift). JACK suites are not run: see
# docs/ARCHITECTURE.md, "Testing notes".
#
# AddressSanitizer (with LeakSanitizer): the same suites plus PCM (conversion,
# libsamplerate, wave-format parsing and fuzzing), the libsndfile boundary of
# the command-line tool (built with ASan too, in the same scratch path) and a
# few suites on a private jackd (the libjack boundary: metadata, ports, streams).
#
# `--disable-xctest`: every test is Swift Testing; the empty XCTest pass only
# adds a leak inside libXCTest that LeakSanitizer would report.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

SIMULATED='AudioClientStateTests|ServerShutdownStateTests|ClockStateTests|StreamFaultTests|SwallowedErrorTests|SessionLifecycleTests/lifecycleSimulated'

# halt_on_error: the first report fails the run (TSan otherwise reports and
# exits 66 at the end, which swift test also treats as a failure).
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

echo "== ThreadSanitizer: RealtimeTests and the simulated-engine WASAPI suites"
timeout 1500 swift test --sanitize=thread --scratch-path .build-tsan -Xswiftc -DWASAPI_JACK_TSAN \
    --disable-xctest --filter "RealtimeTests|SlotTableTests|MetadataAccessTests|NotificationGateTests/shut(WaitsFor|IsBounded)|$SIMULATED"

echo "== AddressSanitizer: RealtimeTests, PCMTests, the simulated-engine WASAPI suites, libsndfile through the tool"
timeout 1500 swift test --sanitize=address --scratch-path .build-asan \
    --disable-xctest --filter "RealtimeTests|SlotTableTests|MetadataAccessTests|NotificationGateTests/shut(WaitsFor|IsBounded)|PCMTests|$SIMULATED|RoundTripSoundFileTests|SoundFileTests/unreadableFile"

# The JACK suites one test at a time: under ASan a real server's cycles are
# slower, and alongside the CPU-bound suites above the session-lifecycle
# test once saw its own session's events out of order (see docs: Testing notes).
# (NotificationGateTests' jackd tests run in the release pass only: under ASan
# its notification-flood test did not finish within minutes in a fresh-clone run.)
JACK='AudioEngineTests|SharedRenderTests|SessionLifecycleTests|MetadataWedgeTests'
echo "== AddressSanitizer: JACK suites (the libjack boundary: metadata, ports, streams), serially"
timeout 1500 swift test --sanitize=address --scratch-path .build-asan --skip-build --no-parallel \
    --disable-xctest --filter "$JACK"

/// Keeps jackd2's latency rounds off a port list that is being shortened.
///
/// jackd2's libjack keeps a client's ports in a `std::list`. On its
/// notification thread, a latency notification walks that list with no lock
/// before it calls our latency callback, and `jack_port_unregister` erases
/// the port's node from it on the calling thread, before it asks the
/// server. When both meet, the walk follows a freed node: SIGSEGV in
/// `JackClient::HandleLatencyCallback` (upstream jackaudio/jack2 issue 216;
/// seen here in a test that releases 200 streams one after another: 1 run
/// in 17 on a loaded machine, about 1 full CI run in 4).
///
/// Every graph change (a port registered or unregistered, a connection made
/// or removed) takes effect at the start of the next cycle, and jackd2 then
/// runs a latency round: each active client gets the notification, one at a
/// time, and the server waits for its answer. So before a port is
/// unregistered:
///
/// 1. Wait until two cycles have begun and ended since the call: the graph
///    switch that carries every earlier change has happened (one cycle that
///    runs late may skip a switch), and the server was told to run its round.
/// 2. Make one request (`answer`) and wait for its reply. jackd2 answers
///    requests and runs latency rounds on one thread, and it reads the
///    message that asks for the round before a request sent after it; so
///    when the reply comes, the round is over and no walk is running.
///
/// The caller holds the client's ``RequestLock`` throughout, so no change
/// of its own slips in between. Changes by other clients can still start a
/// round at any moment: the fence narrows the race to those, it cannot
/// close it (only libjack could). pipewire-jack keeps its ports otherwise
/// and does not need it.
///
/// Bounded: each cycle is waited for at most ``cycleWaitMilliseconds``
/// (longer than a JACK period: 4096 frames at 44.1 kHz is 93 ms); a server
/// that does not cycle skips the rest of the fence.
///
/// Thread safety: the client's request lane, holding its request lock
/// (``ClientConnection``).
enum LatencyRoundFence {
    static let cycleWaitMilliseconds = 250

    static func wait(graph: UnsafeMutablePointer<ProcessGraph>, isRunning: () -> Bool, answer: () -> Void) {
        for _ in 0..<2 {
            guard graph.pointee.waitForCyclesInFlight(timeoutMilliseconds: cycleWaitMilliseconds, isRunning: isRunning),
                  isRunning() else { return }
        }
        answer()
    }
}

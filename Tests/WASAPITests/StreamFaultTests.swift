import AudioGraph
import Foundation
import PCM
import Realtime
import SimulatedEngine
import Synchronization
import Testing
import WASAPI

/// Faults a stream must report instead of swallowing (project issue 14), on
/// the simulated engine: volumes read by a second thread, cycles that never
/// finish, connections the graph refuses.
@Suite("Stream faults (simulated engine)", .timeLimit(.minutes(15)))
struct StreamFaultTests {
    // MARK: Stream volumes

    @Test("IAudioStreamVolume read and set from an application thread while cycles run: no torn or lost volume")
    func streamVolumesUnderConcurrentCycles() throws {
        try withSimulatedEngine { sim, enumerator in
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try initializedClient(device)
            let render = try client.getRenderClient()
            let volume = try client.getStreamVolume()
            let ports = ["system:playback_1", "system:playback_2"]
            try volume.setAllVolumes([0.5, 0.5])
            try client.start()

            let iterations = 20_000
            let cyclesDone = Atomic<Bool>(false)
            let controlMismatches = Mutex<[String]>([])
            let renderFailures = Mutex<[String]>([])
            runOnThreads([
                {
                    // The application: sets both channels to 0.25 or 0.5 in
                    // turn, re-sets each through SetChannelVolume (a read,
                    // then a publication) and reads them back.
                    var done = 0
                    while done < iterations || !cyclesDone.load(ordering: .acquiring) {
                        let level: Float = done % 2 == 0 ? 0.25 : 0.5
                        do {
                            try volume.setAllVolumes([level, level])
                            try volume.setChannelVolume(0, level: level)
                            try volume.setChannelVolume(1, level: level)
                            let read = try volume.getAllVolumes()
                            if read != [level, level] {
                                controlMismatches.withLock { if $0.count < 10 { $0.append("set \(level), read \(read)") } }
                            }
                        } catch {
                            controlMismatches.withLock { $0.append("\(error)") }
                            return
                        }
                        done += 1
                    }
                },
                {
                    // The "process thread": queues a constant 1.0 and runs cycles.
                    defer { cyclesDone.store(true, ordering: .releasing) }
                    for cycle in 0..<2_000 {
                        do {
                            let frames = 64
                            let buffer = try render.getBuffer(frames: frames)
                            let samples = buffer.bindMemory(to: Float.self)
                            for index in samples.indices { samples[index] = 1 }
                            try render.releaseBuffer(frames: frames)
                        } catch {
                            renderFailures.withLock { $0.append("cycle \(cycle): \(error)") }
                            return
                        }
                        sim.runCycles(1)
                        // Every snapshot the process thread applies is one the
                        // application set: both channels alike, 0.25 or 0.5.
                        let left = sim.takeRenderedSamples(port: ports[0])
                        let right = sim.takeRenderedSamples(port: ports[1])
                        for (frame, pair) in zip(left, right).enumerated()
                        where pair.0 != pair.1 || (pair.0 != 0.25 && pair.0 != 0.5) {
                            renderFailures.withLock { if $0.count < 10 { $0.append("cycle \(cycle) frame \(frame): \(pair)") } }
                        }
                    }
                },
            ])
            #expect(controlMismatches.withLock { $0 } == [], "GetAllVolumes returned another volume than was set")
            #expect(renderFailures.withLock { $0 } == [], "the process thread applied another volume than was set")
        }
    }

    // MARK: Cycles stuck in flight

    @Test("Reset while a cycle is stuck in flight: DEVICE_INVALIDATED naming the stage, the buffer untouched")
    func resetWithStuckCycles() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            try writeSilence(try client.getRenderClient(), frames: 256)
            try client.start()
            sim.runCycles(1)
            try client.stop()
            #expect(try client.getCurrentPadding() == 192)

            sim.stallCycles(true)
            let error = expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try client.reset() }
            #expect(error?.message.contains("reset") == true && error?.message.contains("stuck") == true,
                    "\(String(describing: error))")
            #expect(try client.getCurrentPadding() == 192, "a failed Reset must leave the buffer as it was")

            sim.stallCycles(false)
            #expect(try client.reset() == .S_OK)
            #expect(try client.getCurrentPadding() == 0)
        }
    }

    @Test("InCallbackStream.stop reports cycles stuck in flight")
    func inCallbackStopWithStuckCycles() throws {
        try withSimulatedEngine { sim, enumerator in
            let stream = try InCallbackStream(enumerator: enumerator, inputChannels: 1, outputChannels: 1,
                                              process: InCallbackStream.monitor)
            stream.start()
            sim.runCycles(2)
            #expect(stream.framePosition == 128)
            sim.stallCycles(true)
            #expect(stream.stop() == false, "a stop that could not wait for the cycle in flight")
            sim.stallCycles(false)
            #expect(stream.stop() == true)
            sim.runCycles(1)
            #expect(stream.framePosition == 128, "stopped: the function runs no more")
        }
    }

    // MARK: Swallowed errors

    @Test("Initialize whose port connection the graph refuses: ENDPOINT_CREATE_FAILED naming the ports, nothing left registered")
    func initializeWithRefusedConnection() throws {
        try withSimulatedEngine { sim, enumerator in
            let ownPorts = { sim.portNames.filter { $0.hasPrefix(sim.clientName + ":") } }
            for (flow, endpointPort) in [(DataFlow.render, "system:playback_2"), (.capture, "system:capture_2")] {
                let client = try enumerator.getDefaultAudioEndpoint(flow, role: .console).activateAudioClient()
                let mix = try client.getMixFormat()
                sim.refuseConnections(to: endpointPort)
                let error = expectError(.AUDCLNT_E_ENDPOINT_CREATE_FAILED) {
                    try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
                }
                #expect(error?.message.contains(endpointPort) == true, "\(String(describing: error))")
                #expect(ownPorts() == [], "a failed Initialize unregisters its ports")
                #expect(sim.connections(ofPort: flow == .render ? "system:playback_1" : "system:capture_1") == [],
                        "and the connections it made before the refused one")
                expectError(.AUDCLNT_E_NOT_INITIALIZED) { try client.getBufferSize() }

                // The same client initialises once the graph accepts the connection.
                sim.refuseConnections(to: endpointPort, false)
                try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
                #expect(try client.portNames().count == 2)
                #expect(sim.connections(ofPort: endpointPort).count == 1)
            }
        }
    }
}

/// Runs each body on a thread of its own (not the test's task pool, so that
/// they really run at the same time) and returns when all have finished.
func runOnThreads(_ bodies: [@Sendable () -> Void]) {
    let group = DispatchGroup()
    for body in bodies {
        group.enter()
        Thread {
            body()
            group.leave()
        }.start()
    }
    group.wait()
}

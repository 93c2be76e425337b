import Foundation
import JackEngine
import JackTestSupport
import Testing
import WASAPI

/// Other clients' metadata is untrusted: garbage written with `jack_property`
/// on this process's session keys and on an endpoint's volume key is ignored
/// (and logged); the process keeps playing at its level and still obeys a
/// valid request afterwards.
@Suite("Malformed session metadata", .timeLimit(.minutes(15)))
struct MalformedSessionMetadataTests {
    @Test("garbage session requests, records and endpoint volumes are ignored; a valid request still applies")
    func garbageIsIgnored() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let tone = try FloatToneStream(device: device, left: FloatToneStream.sine(1000, 0.5), right: { _ in 0.5 })
            let control = try tone.client.getSessionControl()
            let events = RecordingSessionEvents()
            try control.registerAudioSessionNotification(events)
            let recorder = try EndpointRecorder(device: device)
            try tone.start()
            try await recorder.record(frames: 9600)

            let client = try #require(try JackAudioEngine.shared(serverName: server.name).ownSubject.map { String($0) })
            let guid = try control.getSessionGUID()
            let requestKey = "urn:wasapi-jack:session-request:\(device.id):\(guid)"
            let recordKey = "urn:wasapi-jack:session:\(device.id):{00000000-0000-0000-0000-0000000000AA}"
            let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
            let garbage: [(String, String)] = [
                (requestKey, "not json"),
                (requestKey, #"{"version":1,"sequence":99999999999999999999,"volume":0.1,"context":"{00000000-0000-0000-0000-000000000000}"}"#),
                (requestKey, #"{"version":1,"sequence":1,"volume":7,"context":"{00000000-0000-0000-0000-000000000000}"}"#),
                (requestKey, #"{"version":1,"sequence":2,"volume":-0.5,"context":"{00000000-0000-0000-0000-000000000000}"}"#),
                (requestKey, #"{"version":1,"sequence":3,"volume":1e999,"context":"{00000000-0000-0000-0000-000000000000}"}"#),
                (requestKey, #"{"version":1,"sequence":4,"mute":"yes","context":"{00000000-0000-0000-0000-000000000000}"}"#),
                (requestKey, #"{"version":1,"sequence":5,"mute":true,"context":"not a guid"}"#),
                (requestKey, #"{"version":1,"sequence":6,"channels":[0.5,0.5,0.5,0.5,0.5],"context":"{00000000-0000-0000-0000-000000000000}"}"#),
                (requestKey, deep),
                (requestKey, String(repeating: "x", count: 5000)),
                (recordKey, #"{"version":1,"server":"x","endpoint":3}"#),
                (recordKey, "{\"\u{1}\":\"\u{7f}\"}"),
            ]
            for (key, value) in garbage {
                #expect(try runJackTool("/usr/bin/jack_property", ["--client", "-s", try JackAudioEngine.shared(serverName: server.name).clientName, key, value],
                                        server: server.name) == 0)
            }
            let volumeGarbage = [
                #"{"version":1,"server":"\#(server.name)","masterDB":40,"channelDB":[0,0],"mute":false,"context":"{00000000-0000-0000-0000-000000000000}","sequence":1}"#,
                #"{"version":1,"server":"\#(server.name)","masterDB":-6,"channelDB":[0],"mute":false,"context":"{00000000-0000-0000-0000-000000000000}","sequence":2}"#,
                #"{"version":1,"server":"\#(server.name)","masterDB":-6,"channelDB":[0,0],"mute":1,"context":"{00000000-0000-0000-0000-000000000000}","sequence":3}"#,
                "[]", "null",
            ]
            let firstPort = try #require(device.portNames.first)
            for value in volumeGarbage {
                #expect(try runJackTool("/usr/bin/jack_property", ["--port", "-s", firstPort, "urn:wasapi-jack:endpoint-volume", value],
                                        server: server.name) == 0)
            }
            _ = client
            try await recorder.record(frames: 9600)
            let afterGarbage = recorder.recording.channel(1).count

            // Still whole: volume, mute and endpoint level untouched, the tone at full level.
            #expect(try control.simpleAudioVolume().getMasterVolume() == 1)
            #expect(try control.simpleAudioVolume().getMute() == false)
            #expect(try device.activateEndpointVolume().getMasterVolumeLevel() == 0)
            #expect(events.recorded.allSatisfy { $0 == .state(.active) }, "no volume event for garbage: \(events.recorded)")
            let listed = try runBuiltProduct(["sessions", "--json", "--server", server.name])
            #expect(listed.status == 0, "\(listed.standardError)")
            #expect(listed.standardOutput.contains(try control.getSessionInstanceIdentifier().replacingOccurrences(of: "/", with: "\\/")))

            // A valid request still works.
            let context = UUID()
            let volume = try runBuiltProduct(["volume", try control.getSessionInstanceIdentifier(), "0.5",
                                              "--context", context.uuidString, "--server", server.name])
            #expect(volume.status == 0, "\(volume.standardError)")
            #expect(await events.wait(for: .simpleVolume(0.5, mute: false, context: context)), "\(events.recorded)")
            try await recorder.record(frames: 9600)
            try tone.stop()
            let right = recorder.recording.channel(1)
            #expect(right[..<afterGarbage].drop { $0 != 0.5 }.allSatisfy { $0 == 0.5 }, "full level until the valid request")
            #expect(right.last { $0 != 0 } == 0.25, "then half")
        }
    }
}

import Foundation
import JackTestSupport
import ServerFixtures
import Testing

/// jackd2 keeps a killed server's registry entry until a server of the same
/// name starts, and refuses every start once its 8 entries are taken.
@Suite("jackd's server registry (no server)", .timeLimit(.minutes(15)))
struct JackServerRegistryTests {
    /// A registry in jackd2 1.9.21's layout: the header, then 8 entries of a
    /// pid and a 257-byte name, 264 bytes apart.
    static func registry(_ servers: [(pid: Int32, name: String)]) -> Data {
        let stride = 264, headerLength = 24 + 8 * stride
        var bytes = [UInt8](repeating: 0, count: headerLength + 64)
        func put(_ value: UInt32, at offset: Int) { withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + 4, with: $0) } }
        put(0x4A41_434B, at: 0)
        put(UInt32(bytes.count), at: 12)
        put(UInt32(headerLength), at: 16)
        for (index, server) in servers.enumerated() {
            put(UInt32(bitPattern: server.pid), at: 24 + index * stride)
            bytes.replaceSubrange(28 + index * stride..<28 + index * stride + server.name.utf8.count, with: Array(server.name.utf8))
        }
        return Data(bytes)
    }

    @Test("the entries of servers whose process is gone are freed; a live one and the free ones stay")
    func reclaimsOnlyDeadServers() throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-registry")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/jack-shm-registry"
        // A pid that existed and is gone: a child that has been reaped.
        let child = try RunningProcess(executable: "/bin/true", arguments: [])
        let gone = child.processIdentifier
        #expect(try child.waitForExit(timeoutSeconds: 10) == 0)
        let servers: [(pid: Int32, name: String)] = [
            (gone, "jack-0:killed-a:"), (getpid(), "jack-0:alive:"), (gone, "jack-0:killed-b:"),
        ]
        try Self.registry(servers).write(to: URL(fileURLWithPath: path))
        let reclaimed = JackServerRegistry.reclaimDeadServers(path: path)
        #expect(reclaimed.map(\.name) == ["jack-0:killed-a:", "jack-0:killed-b:"])
        let after = try Data(contentsOf: URL(fileURLWithPath: path))
        let pids = (0..<3).map { index in after.withUnsafeBytes { $0.load(fromByteOffset: 24 + index * 264, as: Int32.self) } }
        #expect(pids == [0, getpid(), 0])
        #expect(after.count == Self.registry(servers).count, "the file keeps its size")
    }

    @Test("a file that is not a jackd2 registry, or a symlink, is left alone")
    func leavesForeignFilesAlone() throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-registry")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/jack-shm-registry"
        let foreign = Data(repeating: 0xAB, count: 4096)
        try foreign.write(to: URL(fileURLWithPath: path))
        #expect(JackServerRegistry.reclaimDeadServers(path: path).isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == foreign)
        let link = directory + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        #expect(JackServerRegistry.reclaimDeadServers(path: link).isEmpty)
    }
}

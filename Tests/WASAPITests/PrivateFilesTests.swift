import Foundation
import JackEngine
import JackTestSupport
import Testing
import WASAPI

/// Lock files, the session mirror and configuration files against another
/// local user: planted symbolic links, foreign files, shared directories.
@Suite("Private files", .timeLimit(.minutes(15)))
struct PrivateFilesTests {
    /// A scratch directory with a target file a planted link points at.
    private struct Scratch {
        let directory = makeTemporaryDirectory(prefix: "wasapi-private")
        var target: String { directory + "/victim" }
        var absent: String { directory + "/created-through-link" }

        init() throws {
            guard FileManager.default.createFile(atPath: directory + "/victim", contents: Data("original\n".utf8)) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: directory + "/victim"])
            }
        }

        var targetText: String? { try? String(contentsOfFile: target, encoding: .utf8) }
        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    private func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    @Test("a symbolic link planted at a lock path is neither followed nor created through")
    func lockSymlink() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = JackServerProcess.Configuration.uniqueName(prefix: "wasapi-private")
        for (endpoint, destination) in [("existing", scratch.target), ("dangling", scratch.absent)] {
            let path = try ExclusiveLock.path(serverName: server, endpointID: endpoint)
            #expect(symlink(destination, path) == 0)
            defer { unlink(path) }
            let error = #expect(throws: AudioError.self) {
                try ExclusiveLock.acquire(serverName: server, endpointID: endpoint)
            }
            #expect(error?.code == .E_ACCESSDENIED)
            #expect(!ExclusiveLock.isHeld(serverName: server, endpointID: endpoint))
        }
        #expect(scratch.targetText == "original\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.absent))
    }

    @Test("a released exclusive lock leaves no file behind; while held, it refuses a second holder")
    func lockFileGoesWithItsHolder() throws {
        let server = JackServerProcess.Configuration.uniqueName(prefix: "wasapi-private")
        let path = try ExclusiveLock.path(serverName: server, endpointID: "tidy")
        var held: ExclusiveLock? = try ExclusiveLock.acquire(serverName: server, endpointID: "tidy")
        #expect(held != nil && FileManager.default.fileExists(atPath: path))
        let second = #expect(throws: AudioError.self) { try ExclusiveLock.acquire(serverName: server, endpointID: "tidy") }
        #expect(second?.code == .AUDCLNT_E_DEVICE_IN_USE)
        held = nil
        #expect(!FileManager.default.fileExists(atPath: path), "the released lock left its file")
        #expect(!ExclusiveLock.isHeld(serverName: server, endpointID: "tidy"))
        let again = try ExclusiveLock.acquire(serverName: server, endpointID: "tidy")
        #expect(ExclusiveLock.isHeld(serverName: server, endpointID: "tidy"))
        withExtendedLifetime(again) {}
    }

    @Test("a lock file owned by another user is refused")
    func lockForeignOwner() throws {
        try #require(geteuid() == 0, "needs root to chown")
        let server = JackServerProcess.Configuration.uniqueName(prefix: "wasapi-private")
        let path = try ExclusiveLock.path(serverName: server, endpointID: "foreign")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        defer { unlink(path) }
        #expect(chown(path, 65534, 65534) == 0)
        #expect(throws: AudioError.self) { try ExclusiveLock.acquire(serverName: server, endpointID: "foreign") }
    }

    @Test("the session mirror replaces a planted link instead of writing through it, and does not read through one")
    func mirrorSymlink() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let mirror = SessionMirror(serverName: JackServerProcess.Configuration.uniqueName(prefix: "wasapi-private"))
        defer { try? FileManager.default.removeItem(atPath: mirror.directory) }
        #expect(mirror.write("first", of: 1, value: "made the directory"))
        let linked = mirror.directory + "/1_volume", dangling = mirror.directory + "/1_mute"
        #expect(symlink(scratch.target, linked) == 0)
        #expect(symlink(scratch.absent, dangling) == 0)
        #expect(mirror.read("volume", of: 1) == nil, "read through a link")
        #expect(!mirror.values(withKeyPrefix: "volume").contains { $0.value == "original\n" })
        #expect(mirror.write("volume", of: 1, value: "0.5"))
        #expect(mirror.write("mute", of: 1, value: "1"))
        #expect(scratch.targetText == "original\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.absent))
        #expect(!isSymbolicLink(linked) && !isSymbolicLink(dangling))
        #expect(mirror.read("volume", of: 1) == "0.5")
    }

    @Test("a session mirror directory that is a link, or someone else's file, is not used")
    func mirrorForeign() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let mirror = SessionMirror(serverName: JackServerProcess.Configuration.uniqueName(prefix: "wasapi-private"))
        #expect(symlink(scratch.directory, mirror.directory) == 0)
        #expect(!mirror.write("volume", of: 1, value: "0.5"))
        #expect(!FileManager.default.fileExists(atPath: scratch.directory + "/1_volume"))
        unlink(mirror.directory)
        defer { try? FileManager.default.removeItem(atPath: mirror.directory) }

        try #require(geteuid() == 0, "needs root to chown")
        #expect(mirror.write("volume", of: 2, value: "0.5"))
        #expect(chown(mirror.directory + "/2_volume", 65534, 65534) == 0)
        #expect(mirror.read("volume", of: 2) == nil, "read a file owned by another user")
    }

    @Test("the session mirror's directory goes with its last value, and comes back with the next")
    func mirrorDirectoryGoesWhenEmpty() {
        let mirror = SessionMirror(serverName: JackServerProcess.Configuration.uniqueName(prefix: "wasapi-private"))
        defer { try? FileManager.default.removeItem(atPath: mirror.directory) }
        #expect(mirror.write("volume", of: 1, value: "0.5") && mirror.write("mute", of: 1, value: "1"))
        mirror.remove("volume", of: 1)
        #expect(mirror.read("mute", of: 1) == "1", "removing one value removed another")
        mirror.remove("mute", of: 1)
        #expect(!FileManager.default.fileExists(atPath: mirror.directory), "an empty mirror directory was left")
        #expect(mirror.write("volume", of: 2, value: "0.25"))
        #expect(mirror.read("volume", of: 2) == "0.25")
    }

    @Test("configuration files: a planted link is replaced, not followed; another user's file is ignored")
    func configFiles() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let ducking = scratch.directory + "/ducking-x.conf", defaults = scratch.directory + "/defaults-x.conf"
        #expect(symlink(scratch.target, ducking) == 0)
        #expect(symlink(scratch.absent, defaults) == 0)
        #expect(DuckingPreferenceStore(path: ducking).load() == .reduceBy80Percent)
        try DuckingPreferenceStore(path: ducking).store(.muteOthers)
        try DefaultEndpointStore(path: defaults).store("system:playback_1", flow: .render, role: .console)
        #expect(scratch.targetText == "original\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.absent))
        #expect(!isSymbolicLink(ducking) && !isSymbolicLink(defaults))
        #expect(DuckingPreferenceStore(path: ducking).load() == .muteOthers)
        #expect(DefaultEndpointStore(path: defaults).load().count == 1)

        try #require(geteuid() == 0, "needs root to chown")
        #expect(chown(ducking, 65534, 65534) == 0 && chown(defaults, 65534, 65534) == 0)
        #expect(DuckingPreferenceStore(path: ducking).load() == .reduceBy80Percent)
        #expect(DefaultEndpointStore(path: defaults).load().isEmpty)
    }

    @Test("a runtime directory that others may write, or that is a link, is refused")
    func runtimeDirectory() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let open = scratch.directory + "/xdg"
        #expect(mkdir(open, 0o700) == 0 && chmod(open, 0o777) == 0)
        let parent = scratch.directory + "/tmp"
        #expect(mkdir(parent, 0o755) == 0)
        let chosen = try PrivateFiles.runtimeDirectory(xdgRuntimeDirectory: open, fallbackParent: parent)
        #expect(chosen == "\(parent)/wasapi-jack-\(geteuid())", "a world-writable XDG_RUNTIME_DIR was used")
        #expect(try PrivateFiles.runtimeDirectory(xdgRuntimeDirectory: chosen, fallbackParent: parent) == chosen)

        // The fallback name taken first by someone else: a link, or a directory others may write.
        let hostileParent = scratch.directory + "/hostile"
        #expect(mkdir(hostileParent, 0o755) == 0)
        let fallback = "\(hostileParent)/wasapi-jack-\(geteuid())"
        #expect(symlink(scratch.directory, fallback) == 0)
        #expect(throws: PrivateFiles.Refusal.self) {
            try PrivateFiles.runtimeDirectory(xdgRuntimeDirectory: nil, fallbackParent: hostileParent)
        }
        unlink(fallback)
        #expect(mkdir(fallback, 0o700) == 0 && chmod(fallback, 0o777) == 0)
        #expect(throws: PrivateFiles.Refusal.self) {
            try PrivateFiles.runtimeDirectory(xdgRuntimeDirectory: nil, fallbackParent: hostileParent)
        }
    }
}

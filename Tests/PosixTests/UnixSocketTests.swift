import Glibc
import TestSupport
import Testing

// Unix sockets and files: a missing path is ENOENT naming the call and the path, a second bind is
// EADDRINUSE, the peer's credentials are this process's, and an empty listener answers nil.
@testable import Posix

@Suite struct UnixSocketTests {
    @Test func connectingToNothingNamesTheCallAndPath() throws {
        let path = temporaryDirectory().appendingPathComponent("none.sock").path
        #expect(throws: SystemError(call: "connect(\(path))", errno: Errno(rawValue: ENOENT))) {
            _ = try Socket.connectUnix(to: path)
        }
        #expect(!Socket.isUnixSocketServed(at: path))
    }

    @Test func listeningTwiceOnAPathIsEADDRINUSE() throws {
        let path = temporaryDirectory().appendingPathComponent("busy.sock").path
        let listener = try Socket.listenUnix(at: path)
        #expect(throws: SystemError(call: "bind(\(path))", errno: .addressInUse)) {
            _ = try Socket.listenUnix(at: path)
        }
        #expect(try listener.acceptUnix() == nil, "nothing waiting: would-block comes back as nil")
        #expect(Socket.isUnixSocketServed(at: path))
    }

    @Test func peerCredentialsAreThisProcess() throws {
        let path = temporaryDirectory().appendingPathComponent("peer.sock").path
        let listener = try Socket.listenUnix(at: path)
        let client = try Socket.connectUnix(to: path)
        var server: Socket?
        #expect(
            try eventuallyBlocking {
                server = try listener.acceptUnix()
                return server != nil
            })
        let credentials = try #require(try server?.peerCredentials())
        #expect(credentials == PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid()))
        #expect(try client.peerCredentials().pid == getpid())
    }

    @Test func aReceiveTimeoutEndsABlockingReadAsWouldBlock() throws {
        let path = temporaryDirectory().appendingPathComponent("timeout.sock").path
        let listener = try Socket.listenUnix(at: path)
        let client = try Socket.connectUnix(to: path)
        try client.setReceiveTimeout(milliseconds: 20)
        _ = listener
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
        defer { buffer.deallocate() }
        guard case .wouldBlock = try client.read(into: buffer) else {
            Issue.record("a timed-out blocking read was not .wouldBlock")
            return
        }
    }

    @Test func fileErrorsNameTheCallAndPath() throws {
        let directory = temporaryDirectory().path
        let missing = directory + "/missing"
        #expect(throws: SystemError(call: "open(\(missing))", errno: Errno(rawValue: ENOENT))) {
            _ = try FileSystem.read(missing, limit: 10)
        }
        #expect(throws: SystemError(call: "unlink(\(missing))", errno: Errno(rawValue: ENOENT))) {
            try FileSystem.remove(missing)
        }
        #expect(throws: SystemError(call: "open \(missing)", errno: Errno(rawValue: ENOENT))) {
            _ = try readFile(missing)
        }
        let nested = directory + "/a/b/c"
        try FileSystem.makeDirectories(nested, mode: 0o750)
        #expect(FileSystem.kind(of: nested) == .directory)
        try FileSystem.makeDirectories(nested, mode: 0o750) // existing directories are fine
        #expect(throws: SystemError(call: "read(/proc/self/status): more than 8 bytes", errno: Errno(rawValue: EFBIG)))
        {
            _ = try FileSystem.read("/proc/self/status", limit: 8)
        }
    }

    @Test func processSampleOfThisProcessAndOfNone() throws {
        let sample = try ProcessSample.read(pid: getpid())
        #expect(sample.residentBytes > 0)
        #expect(throws: SystemError.self) { _ = try ProcessSample.read(pid: Int32.max) }
    }
}

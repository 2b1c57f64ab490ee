// FileSystem.regularFileMode: what the daemon checks before it reads a secret file.
import Glibc
import Posix
import Testing

@Suite struct FileSystemTests {
    @Test func regularFileModeFollowsSymlinksAndReportsTheBits() throws {
        let directory = "/tmp/heartbeatd-posix-\(getpid())"
        try FileSystem.makeDirectories(directory, mode: 0o700)
        defer {
            try? FileSystem.remove("\(directory)/link")
            try? FileSystem.remove("\(directory)/secret")
            rmdir(directory)
        }
        let file = "\(directory)/secret"
        let descriptor = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        #expect(descriptor >= 0)
        close(descriptor)
        try FileSystem.setMode(file, 0o640)
        #expect(symlink(file, "\(directory)/link") == 0)

        let viaLink = try #require(FileSystem.regularFileMode(of: "\(directory)/link"))
        #expect(viaLink.isRegular && viaLink.mode == 0o640)
        let ofDirectory = try #require(FileSystem.regularFileMode(of: directory))
        #expect(!ofDirectory.isRegular && ofDirectory.mode == 0o700)
        #expect(FileSystem.regularFileMode(of: "\(directory)/missing") == nil)
    }
}

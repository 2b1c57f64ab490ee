// SocketActivation: descriptors passed by a real systemd-socket-activate to a child process (the probe),
// so no test has to move descriptors 3 and 4 of a test process whose other tests own them.
import Glibc
import SystemdEdge
import TestSupport
import Testing

extension ProcessWide {
    @Suite struct SocketActivationTests {
        @Test func findsNothingWithoutListenFds() throws {
            let descriptors = try withEnvironment(["LISTEN_PID": nil, "LISTEN_FDS": nil]) {
                try SocketActivation.listeningDescriptors()
            }
            #expect(descriptors == [])
        }

        @Test func ignoresAndUnsetsDescriptorsMeantForAnotherProcess() throws {
            let (descriptors, leftOver) = try withEnvironment(["LISTEN_PID": "\(getpid() + 1)", "LISTEN_FDS": "1"]) {
                (try SocketActivation.listeningDescriptors(), [getenv("LISTEN_PID"), getenv("LISTEN_FDS")])
            }
            #expect(descriptors == [])
            #expect(leftOver == [nil, nil])
        }

        @Test(
            .enabled(if: isExecutable("/usr/bin/systemd-socket-activate"), "systemd-socket-activate is not installed"))
        func adoptsListeningSocketsFromSystemd() throws {
            let directory = try makeTemporaryDirectory("activate")
            defer { removeTree(directory) }
            // Without --accept, systemd-socket-activate execs the service at the first connection.
            let activator = try Child([
                "systemd-socket-activate", "-l", directory + "/a.sock", "-l", directory + "/b.sock",
                try probePath(), "listen-fds",
            ])
            let connection = try connectWhenListening(to: directory + "/a.sock")
            defer { close(connection) }
            let finished = try activator.wait()
            #expect(finished.status == 0, "stderr: \(finished.standardError)")
            #expect(finished.standardOutput == "descriptors 3 4\nLISTEN_FDS unset\n")
        }

        @Test func rejectsADescriptorThatIsNotAListeningSocket() throws {
            // The shell execs the probe, so LISTEN_PID=$$ is the probe's pid; fd 3 is /dev/null.
            let finished = try run([
                "sh", "-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" listen-fds 3</dev/null", try probePath(),
            ])
            #expect(finished.status == 1)
            #expect(finished.standardOutput == "error \(SystemdError.notListeningStreamSocket(descriptor: 3))\n")
        }

        @Test func rejectsAConnectedSocketFromAcceptYes() throws {
            // --accept hands each child the connection, not the listener: what a unit with Accept=yes does.
            let directory = try makeTemporaryDirectory("accept")
            defer { removeTree(directory) }
            let path = directory + "/accept.sock"
            let activator = try Child([
                "systemd-socket-activate", "--accept", "-l", path, try probePath(), "listen-fds",
            ])
            let connection = try connectWhenListening(to: path)
            defer { close(connection) }
            let expected = "error \(SystemdError.notListeningStreamSocket(descriptor: 3))\n"
            var output = ""
            let answered = try eventuallyBlocking(within: 10) {
                output = try activator.standardOutput()
                return output == expected
            }
            activator.terminate()
            #expect(answered, "stdout: \(output)")
        }
    }
}

func isExecutable(_ path: String) -> Bool {
    access(path, X_OK) == 0
}

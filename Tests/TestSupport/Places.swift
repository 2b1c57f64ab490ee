// Where the tests find things: the binaries SwiftPM built next to the test bundle, fresh temporary
// directories, and the one error the support code throws.
import Foundation

public enum TestFailure: Error, CustomStringConvertible {
    case message(String)
    public var description: String {
        switch self {
        case .message(let text): text
        }
    }
}

/// The executable `name` (heartbeatd, heartbeatctl, heartbeat-agent, heartbeat-bench) that SwiftPM
/// built into the directory of this test bundle or one above it.
public func builtProduct(_ name: String) -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = bundle.deletingLastPathComponent()
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    // `swift test` runs the bundle from .build/<triple>/debug; fall back to the usual place.
    return FileManager.default.currentDirectoryPath + "/.build/debug/" + name
}

/// The heartbeatd binary SwiftPM built next to this test bundle.
public func heartbeatdBinary() -> String {
    builtProduct("heartbeatd")
}

/// A temporary directory, left in /tmp for inspection after a failure.
public func temporaryDirectory() -> URL {
    let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
        "hbtest-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The systemd variables a daemon must not inherit from whoever runs the tests.
public let systemdVariables = [
    "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
]

/// The value of `key=value` in a log line (`<6>client offline client.id=a peer=127.0.0.1:5 reason=eof`).
public func field(_ key: String, in line: String) -> String? {
    for word in line.split(separator: " ") where word.hasPrefix(key + "=") {
        return String(word.dropFirst(key.count + 1))
    }
    return nil
}

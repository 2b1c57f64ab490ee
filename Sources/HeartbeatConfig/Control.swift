// [control]: where the control socket heartbeatctl talks to lives, and which group besides root and
// the daemon's own user may use it (DESIGN.md §6). Both are fixed when the socket is made.

extension Config {
    public struct Control: Sendable, Equatable {
        /// An absolute path of at most 107 bytes (sun_path holds 108 with the NUL), or "" for no
        /// control socket at all.
        public var socket: String
        /// A group name whose members may use the socket; "" admits only root and the daemon's user.
        /// The name is looked up when the socket is made, not here.
        public var group: String

        public static let defaults = Control(socket: "/run/heartbeatd/control.sock", group: "")
    }
}

extension Config.Control {
    /// sockaddr_un.sun_path is 108 bytes, one of them the terminating NUL.
    static let longestSocketPath = 107

    init(reading table: inout TableReader) throws(ConfigError) {
        let defaults = Self.defaults
        socket =
            try table.read(
                "socket", expected: "an absolute path of at most \(Self.longestSocketPath) bytes, or \"\" for none"
            ) { value in
                value.string.flatMap { path in
                    path.isEmpty
                        || (path.hasPrefix("/") && path.utf8.count <= Self.longestSocketPath
                            && !path.utf8.contains(0))
                        ? path : nil
                }
            } ?? defaults.socket
        group =
            try table.read("group", expected: "a group name such as \"heartbeat-ops\", or \"\" for none") { value in
                value.string.flatMap { isGroupName($0) || $0.isEmpty ? $0 : nil }
            } ?? defaults.group
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("control")
        writer.set("socket", socket)
        writer.set("group", group)
    }
}

/// What useradd/groupadd accept: 1–32 bytes of letters, digits, `_`, `-`, `.`, not starting with `-`,
/// optionally ending in `$`. Anything else could never name a group, so it is a typo worth reporting.
private func isGroupName(_ name: String) -> Bool {
    var bytes = Substring(name).utf8[...]
    if bytes.last == UInt8(ascii: "$") { bytes = bytes.dropLast() }
    guard (1...32).contains(bytes.count), bytes.first != UInt8(ascii: "-") else { return false }
    return bytes.allSatisfy { byte in
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }
}

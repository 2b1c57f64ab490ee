// [cluster]: share presence with other heartbeatd nodes through Redis (docs/design.md, "Cluster").
// Empty `redis` (the default) is today's single node. The password is never in this file: it comes
// from `password_file` or systemd's credential, like [auth]'s secret. TLS to Redis is not offered
// (Debian's hiredis 0.14 has none); reach a remote Redis through a local socket or a tunnel.
import ClusterSchema
import Primitives

extension Config {
    public struct Cluster: Sendable, Equatable {
        /// "host:port", "unix:/path", or "" for no cluster.
        public var redis: String
        /// "" = the host name.
        public var node: String
        public var prefix: String
        /// 2s to 5m: a node that has not renewed its lease this long is dead.
        public var lease: Duration
        /// An absolute path, or "" for $CREDENTIALS_DIRECTORY/heartbeatd-redis-password if it exists.
        public var passwordFile: String
        /// The events stream's approximate cap (XADD MAXLEN ~), 1000 to 100 million entries.
        public var streamMaxlen: Int
        /// Events kept while Redis is unreachable, 1 to 1 million; past it they are dropped and counted.
        public var buffer: Int

        public static let defaults = Cluster(
            redis: "", node: "", prefix: "heartbeatd:", lease: .seconds(5), passwordFile: "",
            streamMaxlen: 100_000, buffer: 10_000)

        public static let credentialName = "heartbeatd-redis-password"

        public var isEnabled: Bool { !redis.isEmpty }

        /// The password file to read: password_file, else the credential if systemd passed one.
        public func passwordPath(credentialsDirectory: String?) -> String? {
            if !passwordFile.isEmpty { return passwordFile }
            guard let directory = credentialsDirectory, !directory.isEmpty else { return nil }
            return directory.hasSuffix("/") ? directory + Self.credentialName : directory + "/" + Self.credentialName
        }
    }
}

extension Config.Cluster {
    init(reading table: inout TableReader) throws(ConfigError) {
        let defaults = Self.defaults
        redis =
            try table.read("redis", expected: "\"host:port\", \"unix:/path/to/redis.sock\" or \"\" for no cluster") {
                value in value.string.flatMap { Self.isRedisAddress($0) ? $0 : nil }
            } ?? defaults.redis
        node =
            try table.read(
                "node", expected: "a name of 1-64 printable ASCII bytes without spaces, braces or quotes, or \"\""
            ) { value in value.string.flatMap { ClusterKeys.isValidName($0, allowEmpty: true) ? $0 : nil } }
            ?? defaults.node
        prefix =
            try table.read("prefix", expected: "up to 64 printable ASCII bytes without spaces, braces or quotes") {
                value in value.string.flatMap { ClusterKeys.isValidName($0, allowEmpty: true) ? $0 : nil }
            } ?? defaults.prefix
        lease = try table.duration("lease", in: .seconds(2) ... .seconds(300)) ?? defaults.lease
        passwordFile =
            try table.read(
                "password_file",
                expected: "an absolute path, or \"\" for $CREDENTIALS_DIRECTORY/\(Self.credentialName)"
            ) { value in
                value.string.flatMap { $0.isEmpty || ($0.hasPrefix("/") && !$0.utf8.contains(0)) ? $0 : nil }
            } ?? defaults.passwordFile
        streamMaxlen = try table.integer("stream_maxlen", in: 1_000...100_000_000) ?? defaults.streamMaxlen
        buffer = try table.integer("buffer", in: 1...1_000_000) ?? defaults.buffer
    }

    /// "" (off), `unix:/absolute/path`, or host:port with a port above 0.
    static func isRedisAddress(_ text: String) -> Bool {
        if text.isEmpty { return true }
        if text.hasPrefix("unix:") {
            let path = text.dropFirst(5)
            return path.hasPrefix("/") && path.utf8.count < 108 && !path.utf8.contains(0)
        }
        guard let parsed = try? HostPort(parsing: text) else { return false }
        return parsed.port != 0
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("cluster")
        writer.set("redis", redis)
        writer.set("node", node)
        writer.set("prefix", prefix)
        writer.set("lease", lease)
        writer.set("password_file", passwordFile)
        writer.set("stream_maxlen", streamMaxlen)
        writer.set("buffer", buffer)
    }
}

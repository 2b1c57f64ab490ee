// Where a client connects: a host name or numeric address plus a port, read from "host:port" text
// (Primitives' HostPort reads it, the same reader as the daemon's `listen`).
import Primitives

/// A server address as people write it: `example.net:7700`, `192.0.2.7:7700` or `[2001:db8::7]:7700`.
/// Host names are resolved on every connection attempt, so a moved server is found again.
extension HeartbeatClient {
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: UInt16

        public init(host: String, port: UInt16) {
            self.host = host
            self.port = port
        }

        /// Reads `host:port`, with an IPv6 address in brackets (`[::1]:7700`); nil for anything else,
        /// port 0 included (a client cannot connect to it).
        public init?(parsing text: String) {
            guard let parsed = try? HostPort(parsing: text), parsed.port > 0 else { return nil }
            self.init(host: parsed.host, port: parsed.port)
        }

        /// `host:port`, with brackets around an IPv6 address.
        public var description: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}

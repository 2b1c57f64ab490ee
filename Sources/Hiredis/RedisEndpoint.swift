// Where Redis is: `host:port` (IPv6 in brackets) or `unix:/path/to/redis.sock`, as `[cluster] redis`
// and `heartbeatctl --redis` take it.
import Primitives

public enum RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: UInt16)
    case unix(path: String)

    /// nil with a reason when the text is neither form.
    public static func parse(_ text: String) -> Result<RedisEndpoint, HiredisError> {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/"), path.utf8.count < 108, !path.utf8.contains(0) else {
                return .failure(.badEndpoint(text, "a unix socket path must be absolute and under 108 bytes"))
            }
            return .success(.unix(path: path))
        }
        do {
            let parsed = try HostPort(parsing: text)
            guard parsed.port != 0 else { return .failure(.badEndpoint(text, "port 0 is not a Redis port")) }
            return .success(.tcp(host: parsed.host, port: parsed.port))
        } catch {
            return .failure(.badEndpoint(text, "expected host:port or unix:/path (\(error))"))
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): HostPort(host: host, port: port).description
        case .unix(let path): "unix:\(path)"
        }
    }
}

/// The one error type of the Hiredis module.
public enum HiredisError: Error, Sendable, Equatable, CustomStringConvertible {
    case badEndpoint(String, String)
    /// hiredis could not connect (its errstr) or lost the connection mid-command.
    case connection(String)
    /// Redis answered with an error line.
    case reply(String)

    public var description: String {
        switch self {
        case .badEndpoint(let text, let why): "bad Redis address \"\(text)\": \(why)"
        case .connection(let why): "Redis: \(why)"
        case .reply(let text): "Redis answered: \(text)"
        }
    }
}

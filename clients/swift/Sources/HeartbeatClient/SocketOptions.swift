// Kernel liveness on the client's socket (keepalive probes, TCP_USER_TIMEOUT on Linux, as the server sets
// them), and the codes of what goes wrong with a socket: NIO's and NIOSSL's errors mapped to Error.Code.
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

enum TCPKeepalive {
    typealias Option = ChannelOptions.Types.SocketOption

    /// Probe after `timeout` of silence, every `interval`, 3 times; give up on unacknowledged data after
    /// `timeout` plus those probes.
    static func options(timeout: Duration, interval: Duration) -> [(Option, SocketOptionValue)] {
        var options: [(Option, SocketOptionValue)] = [(.socketOption(.so_keepalive), 1)]
        #if os(Linux)
            let idle = SocketOptionValue(clamping: max(1, timeout.components.seconds))
            let every = SocketOptionValue(clamping: max(1, interval.components.seconds))
            let userTimeout = SocketOptionValue(clamping: timeout.milliseconds + Int64(every) * 3_000)
            options += [
                (.tcpOption(.init(rawValue: TCP_KEEPIDLE)), idle),
                (.tcpOption(.init(rawValue: TCP_KEEPINTVL)), every),
                (.tcpOption(.init(rawValue: TCP_KEEPCNT)), 3),
                (.tcpOption(.init(rawValue: CInt(TCP_USER_TIMEOUT))), userTimeout),
            ]
        #endif
        return options
    }
}

extension Transport {
    /// What went wrong with an attempt, as a code: NIO's errors are specific (refused, per address; DNS;
    /// a timeout), and a timeout before any channel was made means the resolver never answered.
    static func connectError(
        _ error: any Error, _ endpoint: HeartbeatClient.Endpoint, _ timeout: Duration, resolverAnswered: Bool
    ) -> HeartbeatClient.Error {
        if let error = error as? HeartbeatClient.Error { return error }
        if let failure = error as? NIOConnectionError {
            if let first = failure.connectionErrors.first {
                let detail = "\(endpoint) (\(first.target.ipAddress ?? "?")): \(first.error)"
                let refused = failure.connectionErrors.allSatisfy { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
                return HeartbeatClient.Error(refused ? .refused : .unreachable, detail, underlying: error)
            }
            let dns = failure.dnsAError ?? failure.dnsAAAAError
            return HeartbeatClient.Error(
                .resolution, "cannot resolve \(endpoint.host)\(dns.map { ": \($0)" } ?? ": no address")",
                underlying: error)
        }
        if case ChannelError.connectTimeout = error {
            return resolverAnswered
                ? HeartbeatClient.Error(.timeout, "no connection to \(endpoint) within \(timeout)", underlying: error)
                : HeartbeatClient.Error(
                    .resolution, "the resolver gave no address for \(endpoint.host) within \(timeout)",
                    underlying: error)
        }
        return sessionError(error, context: "\(endpoint)")
    }

    /// An error on an open (or opening) channel: TLS, or the socket.
    static func sessionError(_ error: any Error, context: String) -> HeartbeatClient.Error {
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return HeartbeatClient.Error(.tls, "\(context): \(error)", underlying: error)
        }
        if let io = error as? IOError, [ECONNREFUSED].contains(io.errnoCode) {
            return HeartbeatClient.Error(.refused, "\(context): \(error)", underlying: error)
        }
        if let io = error as? IOError, [ENETUNREACH, EHOSTUNREACH].contains(io.errnoCode) {
            return HeartbeatClient.Error(.unreachable, "\(context): \(error)", underlying: error)
        }
        return HeartbeatClient.Error(.connection, "\(context): \(error)", underlying: error)
    }
}

// The connect-rate limit at accept: a connection from a network over `connect_rate` is reset before it
// is a session (no slot, no timer, no admission count, no read), counted, and logged at most once a
// second per worker with the count since the previous line. The buckets are ConnectBuckets.swift.
import Logging
import Posix

extension Worker {
    /// Whether `peer`'s network may open one more connection now; always true while the limit is off.
    /// Behind a proxy `peer` is the proxy: its header has not been read yet (docs/operations.md).
    func admitsConnection(from peer: SocketAddress) -> Bool {
        guard settings.connectRate > 0 else { return true }
        let (rate, burst, now) = (settings.connectRate, max(settings.connectBurst, 1), loop.now)
        return shared.connectBuckets.withLock { $0.admit(peer.host, now: now, rate: rate, burst: burst) }
    }

    /// Ends a connection over the rate with RST (SO_LINGER 0): the kernel forgets it at once, with no
    /// TIME_WAIT or FIN_WAIT left here, and the client's next read says ECONNRESET, not a clean EOF
    /// it might take for a server that closed on purpose and retry at once.
    func refuse(_ socket: consuming Socket, peer: SocketAddress) {
        try? socket.abortOnClose()
        socket.close()
        stats.connectRateRefusals.add(1, ordering: .relaxed)
        connectRefusals.count += 1
        let now = loop.now
        guard now &- connectRefusals.lastLine >= 1_000_000_000 else { return }
        logger.warning(
            "connections refused: over the connect rate",
            metadata: [
                "event": "connect-rate", "network": "\(peer.host.networkDescription)",
                "refused": "\(connectRefusals.count)", "limit": "\(settings.connectRate)/s",
            ])
        connectRefusals = ConnectRefusalLog(lastLine: now, count: 0)
    }
}

/// Refusals since the last log line, and when that line was written.
struct ConnectRefusalLog {
    var lastLine: UInt64 = 0
    var count = 0
}

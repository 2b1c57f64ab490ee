// The PROXY protocol on listeners behind a proxy: the header comes before any line, within the hello
// deadline (on a TLS listener before the ClientHello, within handshake_timeout), and the session's peer
// becomes its source address — in logs, `clients`, presence events and the per-address limit, checked now.
import EventLoop
import Posix
import WireProtocol

extension Worker {
    /// Reads the header at the start of `bytes` for the session at `slot`. The offset the client's own bytes
    /// start at, or nil when the header is incomplete (kept as a partial) or bad (the session is reaped).
    func takeProxyHeader(_ slot: Int, _ bytes: UnsafeRawBufferPointer) -> Int? {
        switch ProxyHeader.parse(bytes) {
        case .incomplete:
            partials[slot] = Array(bytes)
            return nil
        case .failed(let error):
            reapAfterReplies(slot, because: .protocol, farewell: .error(error.code, error.detail))
            return nil
        case .header(let header, let length):
            awaitingProxyHeader.remove(slot)
            guard case .source(let address, let port) = header else { return length }
            guard let source = socketAddress(address, port: port) else {
                reapAfterReplies(
                    slot, because: .protocol, farewell: .error(.badLine, "PROXY header address is malformed"))
                return nil
            }
            let proxy = sessions[slot].peer
            sessions[slot].peer = source
            guard shared.admission.move(from: proxy.host, to: source.host, maxPerAddress: settings.maxClientsPerAddress)
            else {
                reapAfterReplies(slot, because: .overload, farewell: .error(.serverFull, ""))
                return nil
            }
            return length
        }
    }

    /// A TLS listener behind a proxy (HAProxy's `send-proxy`): the header arrives in plain text before the
    /// ClientHello. One deadline, handshake_timeout from now, covers the header and the handshake.
    func awaitProxyHeaderBeforeTLS(_ slot: Int) {
        proxyBeforeTLS.insert(slot)
        handoff.cannotHandOver.insert(slot)
        armSessionTimer(slot, at: loop.now + settings.handshakeTimeout)
    }

    /// Readable before TLS: the header is peeked (MSG_PEEK) and only its own bytes are taken from the socket, so
    /// the ClientHello behind it stays there for OpenSSL, which reads the socket itself. An incomplete header
    /// is all header: it is taken and kept as a partial (a peek alone would leave the socket readable, and
    /// the level-triggered loop spinning).
    func readProxyHeaderBeforeTLS(_ slot: Int, _ readiness: Readiness) {
        if readiness.contains(.error) {
            return reap(slot, because: .reset, error: sessions[slot].socket?.pendingError())
        }
        var carried = 0
        if let partial = partials[slot] {
            partial.withUnsafeBytes { input.copyMemory(from: $0) }
            carried = partial.count
        }
        let peeked: Int
        do {
            guard case .done(let count) = try sessions[slot].socket?.peek(into: .init(rebasing: input[carried...]))
            else {
                return
            }
            peeked = count
        } catch {
            return reap(slot, because: .reset, error: error.errno)
        }
        guard peeked > 0 else { return reap(slot, because: .eof) }
        let filled = UnsafeRawBufferPointer(rebasing: input[..<(carried + peeked)])
        guard let length = takeProxyHeader(slot, filled) else {
            if sessions.isOpen(slot), partials[slot] != nil { take(peeked, from: slot, after: carried) }
            return
        }
        take(length - carried, from: slot, after: carried)
        partials[slot] = nil
        proxyBeforeTLS.remove(slot)
        // The ClientHello, if it is already there, keeps the socket readable: the next turn starts on it.
        startHandshake(slot, armsDeadline: false)
    }

    /// Takes `count` bytes it has peeked at from the socket (into the input buffer past `offset`, where the
    /// copy already parsed lies: the kernel hands back the same bytes).
    private func take(_ count: Int, from slot: Int, after offset: Int) {
        guard count > 0 else { return }
        _ = try? sessions[slot].socket?.read(into: .init(rebasing: input[offset..<(offset + count)]))
    }

    private func socketAddress(_ address: ProxyAddress, port: UInt16) -> SocketAddress? {
        switch address {
        case .ipv4(let bytes), .ipv6(let bytes):
            return SocketAddress(bytes: bytes, port: port)
        case .text(let text, let isIPv6):
            guard let parsed = SocketAddress(host: text, port: port), parsed.isIPv6 == isIPv6 else { return nil }
            return parsed
        }
    }
}

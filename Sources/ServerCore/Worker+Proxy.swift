// The PROXY protocol on listeners behind a proxy: the header comes before any line, within the hello
// deadline (the session's timer until HELLO), and the session's peer becomes its source address — in logs,
// `clients`, presence events and the per-address limit, which is checked now, with the real address.
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

// --unstamped: a heartbeat costs the bench what a Redis PING costs it, so flood compares servers and not
// the bench's work per reply. PINGs go out untagged (`PING\n`), a read of whole `PONG\n` lines is only
// counted, and its round trip is timed once against the connection's last PING write.
import Posix
import WireProtocol

extension Fleet {
    private static let plainPong: [UInt8] = Array("PONG\n".utf8)

    /// One PING into `output`: the peer's, an untagged one with --unstamped, else one stamped with `micros`.
    func appendPing(stamp micros: UInt64) {
        if let peer {
            output.append(contentsOf: peer.ping)
        } else if sentAt != nil {
            RequestLine.appendPing(to: &output)
        } else {
            RequestLine.appendPing(stamp: micros, to: &output)
        }
    }

    /// Counts a read of an identified client that holds nothing but whole `PONG\n` lines, as the peers'
    /// replies are counted (Fleet+Peers.swift). False for anything else (OK, BYE, ERR, a split line),
    /// which the line decoder then handles.
    func countPlainPongs(_ client: Int, _ bytes: UnsafeRawBufferPointer, now: UInt64) -> Bool {
        let width = Self.plainPong.count
        guard phase[client] == .identified, !bytes.isEmpty, bytes.count % width == 0 else { return false }
        let isAllPongs = Self.plainPong.withUnsafeBytes { pong in
            stride(from: 0, to: bytes.count, by: width).allSatisfy { start in
                bytes[start..<start + width].elementsEqual(pong)
            }
        }
        guard isAllPongs else { return false }
        let count = bytes.count / width
        pongs += UInt64(count)
        recordSinceSend(client, now: now)
        onPongs(client, count)
        return true
    }

    /// One RTT per read: from the client's last PING write to `now` (monotonic nanoseconds). Exact at
    /// depth 1; with more PINGs in flight, the older ones' wait is understated.
    func recordSinceSend(_ client: Int, now: UInt64) {
        guard let sent = sentAt?[client], sent > 0 else { return }
        let micros = now / 1_000
        _ = rtt.record(micros > sent ? micros - sent : 0)
    }
}

// The TLS comparison's peers (--peer): the same fleet speaking just enough MQTT 3.1.1 (Mosquitto) or
// RESP (Redis) for an idle session and a heartbeat — a CONNECT without keepalive and PINGREQ/PINGRESP,
// or PING/+PONG — so `hold --pid` measures their memory per client and CPU per 1000 beats the same way.
import ArgumentParser
import Posix

enum Peer: String, ExpressibleByArgument, CaseIterable {
    case mqtt
    case redis

    /// What a client sends once connected (and through TLS).
    var greeting: [UInt8] {
        switch self {
        // CONNECT: protocol "MQTT" level 4, clean session, keepalive 0 (never timed out), empty client id.
        case .mqtt: [0x10, 0x0C, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00]
        case .redis: Array("PING\r\n".utf8)
        }
    }

    /// One heartbeat: PINGREQ, or PING.
    var ping: [UInt8] {
        switch self {
        case .mqtt: [0xC0, 0x00]
        case .redis: Array("PING\r\n".utf8)
        }
    }

    /// How churn's clean leaving says goodbye: QUIT, answered +OK and a close. MQTT's DISCONNECT is not
    /// text, and not needed for the comparisons: nil.
    var quit: StaticString? {
        switch self {
        case .mqtt: nil
        case .redis: "QUIT\r\n"
        }
    }

    /// Replies in `bytes`: PINGRESP (and CONNACK) are fixed-size packets, RESP replies lines.
    func replies(in bytes: UnsafeRawBufferPointer) -> (count: Int, leftover: Int) {
        switch self {
        case .mqtt:
            (bytes.count / 2, bytes.count % 2)
        case .redis:
            (bytes.count(where: { $0 == 0x0A }), bytes.count - ((bytes.lastIndex(of: 0x0A) ?? -1) + 1))
        }
    }
}

extension Fleet {
    /// The peer's replies in a read: the first makes the client identified (CONNACK, +PONG), the rest
    /// are heartbeat answers. What does not complete a reply is carried to the next read. With --unstamped,
    /// the answers' RTT is taken against the last send (`now`: the read's instant), before the mode pings again.
    func peerReplies(_ client: Int, _ peer: Peer, _ bytes: UnsafeRawBufferPointer, now: UInt64) {
        let (count, leftover) = peer.replies(in: bytes)
        if leftover > 0 { partialLines[client] = Array(bytes[(bytes.count - leftover)...]) }
        guard count > 0 else { return }
        var answers = count
        if phase[client] == .greeting {
            answers -= 1
            // Without a granted timeout, three intervals is what heartbeatd would grant.
            grantedTimeout[client] = intervalMS * 3 * 1_000_000
            phase[client] = .identified
            onIdentified(client)
            guard phase[client] == .identified else { return }
        }
        guard answers > 0 else { return }
        recordSinceSend(client, now: now)
        pongs += UInt64(answers)
        onPongs(client, answers)
    }
}

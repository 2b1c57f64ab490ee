// One control socket connection: who it is, the request bytes not yet handled, and the answer bytes
// not yet sent. A long `clients` answer is kept as records and encoded a piece at a time as the
// socket drains, so the bytes waiting here stay near `ControlServer.refillBytes` whatever the list.
import ControlProtocol
import Posix

final class ControlConnection {
    /// Tells a connection from a later one that reuses its descriptor number, when a worker's answer comes back.
    struct Key: Sendable, Equatable {
        let slot: Int
        let serial: UInt64
    }

    var socket: Socket?
    let key: Key
    let peer: PeerCredentials

    /// Bytes of a request line still without its `\n`.
    var input: [UInt8] = []
    /// Encoded answer lines; `output[..<sent]` has gone out already.
    private(set) var output: [UInt8] = []
    private(set) var sent = 0
    /// `clients` records still to encode, then the closing `{"ok":true,"count":N}` line.
    private var pending: ArraySlice<ClientInfo> = []
    private var pendingCount: Int?

    /// A worker has the request; nothing else is read until its answer arrives.
    var isAwaiting = false
    /// `watch` was asked: presence events are appended as they come.
    var isWatching = false
    /// The last line is queued; the connection ends once it is sent (or at `closeDeadline`).
    var isClosing = false
    /// The peer sent its FIN: answer what was asked, then close.
    var isPeerDone = false
    var closeDeadline: UInt64?
    /// The epoll interest in force, to change it only when it differs.
    var interest: Readiness = [.readable, .peerClosed]

    init(socket: consuming Socket, key: Key, peer: PeerCredentials) {
        self.socket = .some(socket)
        self.key = key
        self.peer = peer
    }

    /// Bytes queued and not yet sent, not counting records still to encode.
    var unsentCount: Int { output.count - sent }

    /// Nothing left to send or to encode.
    var isDrained: Bool { unsentCount == 0 && pendingCount == nil }

    func append(_ object: JSONObject) {
        object.appendLine(to: &output)
    }

    func append(bytes: [UInt8]) {
        output += bytes
    }

    /// Queues a `clients` answer: one line per record, then the count.
    func queue(_ clients: [ClientInfo]) {
        pending = clients[...]
        pendingCount = clients.count
    }

    /// Encodes records until `limit` bytes wait or none are left, then the closing line.
    func refill(upTo limit: Int) {
        while unsentCount < limit, let next = pending.popFirst() {
            next.json().appendLine(to: &output)
        }
        if pending.isEmpty, let count = pendingCount {
            JSONObject(["ok": .bool(true), "count": .integer(Int64(count))]).appendLine(to: &output)
            pendingCount = nil
        }
    }

    /// `count` more bytes went out. Sent bytes are dropped once all is sent or they pile up.
    func didSend(_ count: Int) {
        sent += count
        if sent == output.count {
            output.removeAll(keepingCapacity: output.capacity <= 1 << 16)
            sent = 0
        } else if sent >= 1 << 16 {
            output.removeFirst(sent)
            sent = 0
        }
    }

    /// Drops every queued line but the one being sent (its head may be out already; cutting it would
    /// leave the reader half a line), then queues `last`.
    func replaceQueue(with last: JSONObject) {
        if let newline = output[sent...].firstIndex(of: 0x0A) {
            output.removeSubrange((newline + 1)...)
        }
        pending = []
        pendingCount = nil
        append(last)
    }

    /// Takes the next complete request line (without `\n`) from `input`.
    func nextLine() -> [UInt8]? {
        guard let newline = input.firstIndex(of: 0x0A) else { return nil }
        let line = Array(input[..<newline])
        input.removeSubrange(...newline)
        return line
    }
}

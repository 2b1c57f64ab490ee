// One control socket connection: who it is, the request bytes not yet handled, and what it is waiting
// for. Its bytes go out through a BufferedConnection. A long `clients` answer is kept as records and
// encoded a piece at a time as the socket drains, so the bytes queued stay near `refillBytes`.
import BufferedIO
import ControlProtocol
import Posix

final class ControlConnection {
    /// Tells a connection from a later one that reuses its descriptor number, when a worker's answer comes back.
    struct Key: Sendable, Equatable {
        let slot: Int
        let serial: UInt64
    }

    /// A `clients` answer is encoded in pieces of about this size as the socket drains.
    static let refillBytes = 64 * 1_024

    let io: BufferedConnection
    let key: Key
    let peer: PeerCredentials

    /// Bytes of a request line still without its `\n`.
    var input: [UInt8] = []
    /// `clients` records still to encode, then the closing `{"ok":true,"count":N}` line.
    private var pending: ArraySlice<ClientInfo> = []
    private var pendingCount: Int?

    /// A worker has the request; nothing else is read until its answer arrives.
    var isAwaiting = false {
        didSet { updateInput() }
    }
    /// `watch` was asked: presence events are appended as they come.
    var isWatching = false
    /// The peer sent its FIN: answer what was asked, then close.
    var isPeerDone = false {
        didSet { updateInput() }
    }

    init(io: BufferedConnection, key: Key, peer: PeerCredentials) {
        self.io = io
        self.key = key
        self.peer = peer
        io.onDrained = { [unowned self] in self.refill() }
    }

    /// Nothing left to encode (bytes may still wait in `io`).
    var isEncoded: Bool { pendingCount == nil }

    func append(_ object: JSONObject) {
        var line: [UInt8] = []
        object.appendLine(to: &line)
        io.append(line)
    }

    /// Queues a `clients` answer: one line per record, then the count.
    func queue(_ clients: [ClientInfo]) {
        pending = clients[...]
        pendingCount = clients.count
    }

    /// Says `error` as the last line: what was queued goes (but the line being sent), then the connection
    /// closes once the line is out or after the connection's finish grace.
    func finish(with error: ControlError) {
        io.finish(last: lastLine(error))
    }

    /// The line `error` ends a connection with; nothing is encoded or watched after it.
    func lastLine(_ error: ControlError) -> [UInt8] {
        pending = []
        pendingCount = nil
        isWatching = false
        var line: [UInt8] = []
        error.answer.appendLine(to: &line)
        return line
    }

    /// Encodes records until `refillBytes` wait or none are left, then the closing line.
    private func refill() {
        guard pendingCount != nil else { return }
        var lines: [UInt8] = []
        while lines.count < Self.refillBytes, let next = pending.popFirst() {
            next.json().appendLine(to: &lines)
        }
        if pending.isEmpty, let count = pendingCount {
            JSONObject(["ok": .bool(true), "count": .integer(Int64(count))]).appendLine(to: &lines)
            pendingCount = nil
        }
        io.append(lines)
    }

    /// Takes the next complete request line (without `\n`) from `input`.
    func nextLine() -> [UInt8]? {
        guard let newline = input.firstIndex(of: 0x0A) else { return nil }
        let line = Array(input[..<newline])
        input.removeSubrange(...newline)
        return line
    }

    // Reading stops while a worker has the request, after the peer's FIN and once closing.
    private func updateInput() {
        io.wantsInput = !isPeerDone && !isAwaiting && !io.isClosing
    }
}

// The fleet's reading side: readiness, reads that may end mid-line, and each server line decoded
// by WireProtocol: PONGs timed against their PING's stamp, OK, BYE and ERR passed to the mode.
import EventLoop
import Posix
import WireProtocol

extension Fleet {
    func ready(_ descriptor: DescriptorID, _ readiness: Readiness) {
        let client = Int(clientOfDescriptor[descriptor.index])
        guard client >= 0 else { return }
        if phase[client] == .connecting {
            connected(client, descriptor)
            return
        }
        if phase[client] == .handshaking {
            stepHandshake(client, descriptor)
            return
        }
        if readiness.contains(.error), let error = sockets.pendingError(at: client) {
            end(client, .socketError(error))
            return
        }
        read(client)
    }

    private func read(_ client: Int) {
        var carried = 0
        if let partial = partialLines.removeValue(forKey: client) {
            partial.withUnsafeBytes { input.copyMemory(from: $0) }
            carried = partial.count
        }
        let space = UnsafeMutableRawBufferPointer(rebasing: input[carried...])
        let result = Result { () throws(SystemError) in try receive(space, client) }
        let count: Int
        switch result {
        case .failure(let error):
            end(client, .socketError(error.errno))
            return
        case .success(.done(let read)):
            count = read
        case .success(.wouldBlock), .success(nil):
            if carried > 0 { partialLines[client] = Array(input[..<carried]) }
            return
        }
        if count == 0 {
            end(client, .closedByServer(bye: byeReason.removeValue(forKey: client)))
            return
        }
        let now = Clock.monotonicNanoseconds()
        let bytes = UnsafeRawBufferPointer(rebasing: input[..<(carried + count)])
        if let peer {
            peerReplies(client, peer, bytes, now: now)
            return
        }
        if sentAt != nil, countPlainPongs(client, bytes, now: now) { return }
        var start = 0
        var pongsInRead = 0
        while start < bytes.count {
            guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                partialLines[client] = Array(bytes[start...])
                break
            }
            let line = start..<newline
            start = newline + 1
            guard handle(client, bytes, line, now: now, pongs: &pongsInRead) else { return }
        }
        if pongsInRead > 0 { onPongs(client, pongsInRead) }
    }

    /// One server line, `bytes[line]`. False if the client was ended. Lines that are none of the
    /// server's four are ignored, as an older bench ignored what it did not know.
    private func handle(
        _ client: Int, _ bytes: UnsafeRawBufferPointer, _ line: Range<Int>, now: UInt64, pongs pongsInRead: inout Int
    ) -> Bool {
        guard let decoded = try? ServerLine.decode(bytes, line: line) else { return true }
        switch decoded {
        case .pong(let tag):
            pongs += 1
            pongsInRead += 1
            if let tag, let sentMicros = Digits.value(bytes, tag) {
                let micros = now / 1_000
                let roundTrip = micros > sentMicros ? micros - sentMicros : 0
                _ = rtt.record(roundTrip)
                onRoundTrip(client, roundTrip, sentMicros)
            }
        case .ok(_, _, let timeoutMS):
            grantedTimeout[client] = timeoutMS * 1_000_000
            keepTLSSession(client)
            phase[client] = .identified
            onIdentified(client)
            // The mode may have closed the client, or even started a new connection in its slot.
            return phase[client] == .identified
        case .bye(let reason):
            byeReason[client] = reason
            onBye(client, reason, now)
            return phase[client] == .identified
        case .error(let code, _):
            if code != ErrorCode.unknownCommand.rawValue {
                end(client, .refused(code))
                return false
            }
        case .challenge(let nonce):
            return answer(client, nonce: nonce)
        }
        return true
    }
}

// TLS sessions on a worker: the handshake driven by epoll readiness, the deadline for it on the session's
// timer, the client certificate's id check, and the TLS side of reading and writing. A plain session
// pays nothing: all TLS state sits in the `tls` side table, keyed by slot like `partials` and `unsent`.
import EventLoop
import Logging
import Posix
import TLS
import WireProtocol

/// What a TLS session keeps beside its 80-byte Session (about 40 bytes here, plus OpenSSL's SSL object).
struct TLSState {
    let stream: TLSStream
    /// The context demanded a client certificate: HELLO's id must be its common name.
    let requiresCertificate: Bool
    var isEstablished = false
    /// The client certificate's common name, read once at the end of the handshake.
    var certificateName: String?
    /// OpenSSL must send before a read can go on (a key update's answer): wait for EPOLLOUT, then read.
    var readWantsWrite = false
}

extension Worker {
    /// A connection on a TLS listener: its SSL object, and the handshake deadline on its session timer (unless
    /// a PROXY header came first: its deadline, armed at accept, covers both).
    func startHandshake(_ slot: Int, armsDeadline: Bool = true) {
        guard let context = settings.tls else {
            reap(
                slot, because: .handshakeFailed,
                tlsFailure: TLSError(kind: .protocol, call: "accept", message: "no TLS context"))
            return
        }
        do {
            tls[slot] = TLSState(
                stream: try context.accept(loop.descriptor(slot: slot)), requiresCertificate: context.verifiesPeer
            )
        } catch {
            reap(slot, because: .handshakeFailed, tlsFailure: error)
            return
        }
        // Its keys live in OpenSSL: a restart or upgrade ends it with a paced `BYE restart` (Worker+Handoff).
        handoff.cannotHandOver.insert(slot)
        guard armsDeadline else { return }
        armSessionTimer(slot, at: loop.now + settings.handshakeTimeout)
    }

    /// The session timer fired before HELLO: still in the handshake (or the PROXY header before it), or
    /// waiting for HELLO after it.
    func helloExpired(_ slot: Int) {
        let beforeHeader = !proxyBeforeTLS.isEmpty && proxyBeforeTLS.contains(slot)
        guard beforeHeader || tls[slot].map({ !$0.isEstablished }) == true else {
            reap(slot, because: .helloTimeout)
            return
        }
        let failure = TLSError(
            kind: .timeout, call: beforeHeader ? "PROXY" : "SSL_do_handshake",
            message: beforeHeader
                ? "no PROXY header within handshake_timeout" : "no complete handshake within handshake_timeout")
        stats.countTLSFailure(failure.kind.rawValue)
        reap(slot, because: .handshakeTimeout, tlsFailure: failure)
    }

    /// Readiness of a TLS session. nil: handled here (the handshake, or the session was reaped); else the
    /// readiness for the plain path, whose reads and writes go through `receive` and `transmit`.
    func tlsReady(_ slot: Int, _ readiness: Readiness) -> Readiness? {
        guard var state = tls[slot] else { return readiness }
        guard state.isEstablished else {
            continueHandshake(slot, state.stream)
            return nil
        }
        guard state.readWantsWrite, readiness.contains(.writable) else { return readiness }
        state.readWantsWrite = false
        tls[slot] = state
        if unsent[slot] == nil {
            try? loop.modify(slot: slot, interest: [.readable, .peerClosed])
        }
        return readiness.union(.readable)
    }

    /// One handshake step; whatever it waits for becomes the descriptor's only interest.
    private func continueHandshake(_ slot: Int, _ stream: TLSStream) {
        do {
            switch try stream.handshake() {
            case .wantRead: try? loop.modify(slot: slot, interest: [.readable, .peerClosed])
            case .wantWrite: try? loop.modify(slot: slot, interest: .writable)
            case .done, .closed: established(slot, stream)
            }
        } catch {
            stats.countTLSFailure(error.kind.rawValue)
            reap(slot, because: .handshakeFailed, tlsFailure: error)
        }
    }

    /// The handshake is done: read the certificate's name if one is required, and give the client
    /// hello_timeout from now to say HELLO.
    private func established(_ slot: Int, _ stream: TLSStream) {
        tls[slot]?.isEstablished = true
        if tls[slot]?.requiresCertificate == true { tls[slot]?.certificateName = stream.peerCommonName() }
        stats.tlsHandshakes.add(1, ordering: .relaxed)
        if stream.isResumed { stats.tlsResumptions.add(1, ordering: .relaxed) }
        try? loop.modify(slot: slot, interest: [.readable, .peerClosed])
        if let timer = sessions[slot].timer { loop.cancel(timer) }
        armSessionTimer(slot, at: loop.now + settings.helloTimeout)
    }

    /// With client_ca set, HELLO's id must be the client certificate's subject common name; otherwise
    /// `ERR auth-failed` and the session ends (reason `protocol`, counted as a TLS failure `id-mismatch` and
    /// as the auth failure `certificate-mismatch`).
    func certificateAllows(_ slot: Int, _ hello: Hello) -> Bool {
        guard let state = tls[slot], state.requiresCertificate, state.certificateName != hello.id else { return true }
        stats.countAuthFailure(.certificateMismatch)
        let failure = TLSError(
            kind: .idMismatch, call: "HELLO",
            message:
                "HELLO \(hello.id) but the client certificate is for \(state.certificateName ?? "no usable common name")"
        )
        stats.countTLSFailure(failure.kind.rawValue)
        if !output.isEmpty { unsent[slot, default: []].append(contentsOf: output) }
        output.removeAll(keepingCapacity: true)
        reap(
            slot, because: .protocol, farewell: .error(.authFailed, "certificate is for another id"),
            tlsFailure: failure)
        return false
    }

    /// A read on the session's socket, through TLS when it has it. nil: nothing to do (the session may have
    /// been reaped). A TLS failure after the handshake ends the session with reason `protocol`.
    func receive(_ slot: Int, into space: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int>? {
        guard !tls.isEmpty, let state = tls[slot] else { return try sessions[slot].socket?.read(into: space) }
        do {
            switch try state.stream.read(into: space) {
            case .done(let count): return .done(count)
            case .closed: return .done(0)
            case .wantRead: return .wouldBlock
            case .wantWrite:
                tls[slot]?.readWantsWrite = true
                try? loop.modify(slot: slot, interest: [.readable, .peerClosed, .writable])
                return .wouldBlock
            }
        } catch {
            reap(slot, because: error.kind == .reset ? .reset : .protocol, tlsFailure: error)
            return nil
        }
    }

    /// A write on the session's socket, through TLS when it has it. OpenSSL's WANT_READ on a write (a
    /// renegotiation, which the context refuses; TLS 1.3 never asks) is treated as would-block.
    func transmit(_ bytes: UnsafeRawBufferPointer, on slot: Int) throws(SystemError) -> IOResult<Int> {
        guard !tls.isEmpty, let state = tls[slot] else { return try sessions[slot].socket?.send(bytes) ?? .wouldBlock }
        let progress: TLSStream.Progress
        do {
            progress = try state.stream.write(bytes)
        } catch {
            throw SystemError(call: "SSL_write (\(error.message))", errno: .connectionReset)
        }
        switch progress {
        case .done(let count): return .done(count)
        case .wantRead, .wantWrite: return .wouldBlock
        case .closed: throw SystemError(call: "SSL_write", errno: .brokenPipe)
        }
    }

    /// The reap's farewell on a TLS session: the line through SSL_write if it goes without blocking, then
    /// one non-blocking close_notify. Before the handshake finished there is no channel to say anything on.
    func sayFarewell(_ line: [UInt8], through stream: TLSStream) {
        guard !line.isEmpty else {
            stream.shutdown()
            return
        }
        _ = line.withUnsafeBytes { bytes in try? stream.write(bytes) }
        stream.shutdown()
    }
}

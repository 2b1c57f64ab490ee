// The fleet over TLS (--tls): each client's stream in a side table, its handshake stepped by epoll
// readiness before HELLO, its reads and writes through OpenSSL, and with --resume the session of its
// last connection offered on the next one (churn then measures resumed handshakes).
import ArgumentParser
import EventLoop
import Posix
import TLS

struct TLSOptions: ParsableArguments {
    @Flag(name: .customLong("tls"), help: "Connect with TLS (to a [tls] listen address).")
    var isEnabled = false

    @Option(
        name: .customLong("tls-ca"),
        help: ArgumentHelp("Trust this CA (PEM) instead of the system store.", valueName: "file"))
    var ca: String?

    @Flag(name: .long, help: "Do not check the server's certificate (benchmarks only).")
    var insecure = false

    @Option(
        name: .customLong("tls-cert"), help: ArgumentHelp("Client certificate (PEM), for client_ca.", valueName: "file")
    )
    var certificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("The client certificate's key (PEM).", valueName: "file"))
    var key: String?

    @Flag(name: .long, help: "Resume each client's previous TLS session (a ticket) when it reconnects.")
    var resume = false

    /// The client context, or nil without --tls.
    func context() throws -> TLSContext? {
        guard isEnabled else { return nil }
        do {
            return try TLSContext.client(trusting: ca, certificate: certificate, privateKey: key, verifyPeer: !insecure)
        } catch {
            throw ValidationError("--tls: \(error)")
        }
    }
}

extension Fleet {
    /// Called when the TCP connection is up: start TLS, or nothing (false) without it.
    func startTLS(_ client: Int, _ descriptor: DescriptorID) -> Bool {
        guard let tls else { return false }
        do {
            // The address without its port (and brackets): what the server's certificate names.
            let text = server.description
            let host = String(text[..<(text.lastIndex(of: ":") ?? text.endIndex)]).filter { $0 != "[" && $0 != "]" }
            let stream = try tls.connect(descriptor, serverName: host)
            if resume, let session = tlsSessions[client] { stream.resume(session) }
            streams[client] = stream
        } catch {
            end(client, .refused("tls-\(error.kind.rawValue)"))
            return true
        }
        phase[client] = .handshaking
        stepHandshake(client, descriptor)
        return true
    }

    /// One handshake step; when it is done, HELLO goes out as on a plain connection.
    func stepHandshake(_ client: Int, _ descriptor: DescriptorID) {
        guard let stream = streams[client] else { return }
        do {
            switch try stream.handshake() {
            case .wantRead: try? loop.modify(descriptor, interest: [.readable, .peerClosed])
            case .wantWrite: try? loop.modify(descriptor, interest: .writable)
            case .done, .closed:
                tlsHandshakes += 1
                if stream.isResumed { tlsResumptions += 1 }
                greet(client, descriptor)
            }
        } catch {
            end(client, .refused("tls-\(error.kind.rawValue)"))
        }
    }

    /// After OK the server's tickets have been read: keep the session for the next connection.
    func keepTLSSession(_ client: Int) {
        guard resume, let stream = streams[client] else { return }
        tlsSessions[client] = stream.session()
    }

    func transmit(_ bytes: UnsafeRawBufferPointer, _ client: Int) throws(SystemError) -> IOResult<Int>? {
        guard let stream = streams[client] else { return try sockets.send(bytes, at: client) }
        let progress: TLSStream.Progress
        do {
            progress = try stream.write(bytes)
        } catch {
            throw SystemError(call: "SSL_write", errno: .connectionReset)
        }
        switch progress {
        case .done(let count): return .done(count)
        case .wantRead, .wantWrite: return .wouldBlock
        case .closed: throw SystemError(call: "SSL_write", errno: .brokenPipe)
        }
    }

    func receive(_ buffer: UnsafeMutableRawBufferPointer, _ client: Int) throws(SystemError) -> IOResult<Int>? {
        guard let stream = streams[client] else { return try sockets.read(into: buffer, at: client) }
        do {
            switch try stream.read(into: buffer) {
            case .done(let count): return .done(count)
            case .closed: return .done(0)
            case .wantRead, .wantWrite: return .wouldBlock
            }
        } catch {
            throw SystemError(call: "SSL_read", errno: error.kind == .eof ? .brokenPipe : .connectionReset)
        }
    }
}

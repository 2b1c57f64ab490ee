// How a client reaches the server, one attempt at a time: SwiftNIO's bootstrap for the platform — NIOPosix's
// ClientBootstrap (Happy Eyeballs, RFC 8305, over the resolver's addresses) or Network.framework through
// NIOTransportServices — with TLS through NIOSSL, and a LineHandler on the channel.
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

#if canImport(Network)
    import NIOTransportServices
#endif

/// One open connection as the run loop uses it.
struct Connection: Sendable {
    let channel: any Channel
    let inbound: AsyncStream<Inbound>
    /// The numeric address connected to, `127.0.0.1:7700` or `[::1]:7700`.
    let address: String

    /// Writes one line; a failure is reported to `onFailure` (the run loop turns it into an event).
    func write(_ line: [UInt8], onFailure: @escaping @Sendable (any Error) -> Void) {
        channel.writeAndFlush(ByteBuffer(bytes: line)).whenFailure(onFailure)
    }

    func close() { channel.close(promise: nil) }
}

/// The settings of every attempt, fixed when the client is made; the TLS context is built once, here.
struct Transport: Sendable {
    let group: any EventLoopGroup
    let endpoint: HeartbeatClient.Endpoint
    let connectTimeout: Duration
    let usesTCPKeepalive: Bool
    let resolver: HeartbeatClient.ResolverFactory?
    let tls: NIOSSLContext?
    /// SNI and the name the certificate must carry; nil for an IP address (checked against its IP entries).
    let serverName: String?

    init(_ configuration: HeartbeatClient.Configuration, group: any EventLoopGroup) throws(HeartbeatClient.Error) {
        self.group = group
        endpoint = configuration.server
        connectTimeout = configuration.connectTimeout
        usesTCPKeepalive = configuration.usesTCPKeepalive
        resolver = configuration.resolver
        if let tlsConfiguration = configuration.tls {
            do {
                tls = try NIOSSLContext(configuration: tlsConfiguration)
            } catch {
                throw HeartbeatClient.Error(.tls, "cannot set up TLS: \(error)", underlying: error)
            }
        } else {
            tls = nil
        }
        let name = configuration.tlsServerName ?? configuration.server.host
        serverName = (try? SocketAddress(ipAddress: name, port: 0)) == nil ? name : nil
    }

    /// Starts one attempt: resolve, connect, TLS. `completion` runs once, on an event loop.
    func connect(_ completion: @escaping @Sendable (Result<Connection, HeartbeatClient.Error>) -> Void) {
        let loop = group.next()
        // Happy Eyeballs makes a channel only once the resolver has given it an address, so a timeout with
        // no channel made is the resolver's.
        let channels = ChannelStreams()
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Void> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let handler = LineHandler()
                try channel.pipeline.syncOperations.addHandler(handler)
                channels.keep(handler.inbound, of: channel)
            }
        }
        let connected: EventLoopFuture<any Channel>
        do {
            connected = try bootstrap(on: loop, initializer).connect(host: endpoint.host, port: Int(endpoint.port))
        } catch {
            completion(.failure(HeartbeatClient.Error(.tls, "cannot set up TLS: \(error)", underlying: error)))
            return
        }
        let endpoint = endpoint
        let timeout = connectTimeout
        connected.whenComplete { result in
            completion(
                result.map { channel in
                    // Taken from the initializer, not the pipeline: a TLS handshake that failed at once has
                    // emptied the pipeline already, but its error waits in the stream.
                    let remote = channel.remoteAddress.map {
                        HeartbeatClient.Endpoint(host: $0.ipAddress ?? "?", port: UInt16($0.port ?? 0)).description
                    }
                    return Connection(channel: channel, inbound: channels.take(of: channel), address: remote ?? "?")
                }.mapError { error in
                    Self.connectError(error, endpoint, timeout, resolverAnswered: channels.made > 0)
                })
        }
    }

    /// NIOPosix's ClientBootstrap, or on Apple platforms with an NIOTSEventLoopGroup Network.framework's;
    /// TLS on top through NIOSSL either way.
    private func bootstrap(
        on loop: any EventLoop, _ initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) throws -> NIOClientTCPBootstrap {
        let timeout = TimeAmount.nanoseconds(connectTimeout.nanoseconds)
        #if canImport(Network)
            if let transportServices = NIOTSConnectionBootstrap(validatingGroup: loop) {
                let base = transportServices.connectTimeout(timeout).channelInitializer(initializer)
                    .channelOption(.socketOption(.so_keepalive), value: usesTCPKeepalive ? 1 : 0)
                guard let tls else { return NIOClientTCPBootstrap(base, tls: NIOInsecureNoTLS()) }
                let provider = try NIOSSLClientTLSProvider<NIOTSConnectionBootstrap>(
                    context: tls, serverHostname: serverName)
                return NIOClientTCPBootstrap(base, tls: provider).enableTLS()
            }
        #endif
        guard var base = ClientBootstrap(validatingGroup: loop) else {
            preconditionFailure("HeartbeatClient: \(type(of: group)) is neither NIOPosix's nor NIOTransportServices'")
        }
        base = base.connectTimeout(timeout).channelInitializer(initializer)
        if let resolver { base = base.resolver(resolver(loop)) }
        if usesTCPKeepalive {
            // Until the OK says otherwise, the kernel gives up on an unanswering peer after the connect timeout.
            for (option, value) in TCPKeepalive.options(timeout: connectTimeout, interval: .seconds(1)) {
                base = base.channelOption(option, value: value)
            }
        }
        guard let tls else { return NIOClientTCPBootstrap(base, tls: NIOInsecureNoTLS()) }
        let provider = try NIOSSLClientTLSProvider<ClientBootstrap>(context: tls, serverHostname: serverName)
        return NIOClientTCPBootstrap(base, tls: provider).enableTLS()
    }
}

/// The line streams of one attempt's channels (Happy Eyeballs may make several), by channel.
final class ChannelStreams: Sendable {
    private let streams = Mutex<(made: Int, byChannel: [ObjectIdentifier: AsyncStream<Inbound>])>((0, [:]))

    /// How many channels the attempt made: none means the resolver never gave an address.
    var made: Int { streams.withLock { $0.made } }

    func keep(_ stream: AsyncStream<Inbound>, of channel: any Channel) {
        streams.withLock {
            $0.made += 1
            $0.byChannel[ObjectIdentifier(channel)] = stream
        }
    }

    /// The stream of the channel that won; the losers' streams go with their channels.
    func take(of channel: any Channel) -> AsyncStream<Inbound> {
        let stream = streams.withLock { streams in
            defer { streams.byChannel = [:] }
            return streams.byChannel[ObjectIdentifier(channel)]
        }
        return stream ?? AsyncStream { $0.finish() }
    }
}

// Engine's first phase: resolve the host, try its addresses in order with a non-blocking connect,
// and say HELLO on the first connection that comes up.
import Dispatch
import Posix

extension Engine {
    func attempt() {
        phase = .connecting
        epoch &+= 1
        let epoch = epoch
        publish(.connecting(attempt: failures))
        lastConnectFailure = "no address for \(configuration.server.host)"
        phaseTimer = schedule(after: configuration.connectTimeout) { [self] in
            if phase == .greeting {
                ended(.helloUnanswered)
            } else {
                ended(.connectFailed("timed out after \(configuration.connectTimeout) (\(lastConnectFailure))"))
            }
        }
        let endpoint = configuration.server
        // getaddrinfo blocks; it runs elsewhere and reports back to the queue.
        DispatchQueue.global().async { [self] in
            let resolution = SocketAddress.resolve(host: endpoint.host, port: endpoint.port)
            queue.async { [self] in
                guard self.epoch == epoch, phase == .connecting else { return }
                switch resolution {
                case .found(let list):
                    addresses = list
                    connectNextAddress()
                case .failed(let text):
                    ended(.connectFailed("cannot resolve \(endpoint.host): \(text)"))
                }
            }
        }
    }

    /// Tries the resolver's addresses in order until one connects.
    func connectNextAddress() {
        guard !addresses.isEmpty else {
            ended(.connectFailed(lastConnectFailure))
            return
        }
        let address = addresses.removeFirst()
        let socket: Socket
        do {
            socket = try Socket.connecting(to: address, from: nil)
        } catch {
            lastConnectFailure = "\(address): \(error)"
            connectNextAddress()
            return
        }
        let connection = Connection(socket: socket, address: address, queue: queue)
        self.connection = connection
        if configuration.usesTCPKeepalive {
            // Until the OK says otherwise, give up with the connect timeout.
            let seconds = Int32(clamping: max(1, configuration.connectTimeout.components.seconds))
            let keepalive = TCPKeepalive(
                idleSeconds: seconds, intervalSeconds: 1, count: 3,
                userTimeoutMilliseconds: Int32(clamping: configuration.connectTimeout.milliseconds)
            )
            do {
                try connection.setKeepalive(keepalive)
            } catch {
                abandon(connection, failure: "\(address): \(error)")
                return
            }
        }
        // Finished or failed, the connect reports writability.
        connection.watchWritable { [self] in connectFinished(connection) }
    }

    func connectFinished(_ connection: Connection) {
        guard connection === self.connection, phase == .connecting else { return }
        connection.stopWatchingWritable()
        if let failure = connection.connectError() {
            abandon(connection, failure: "\(connection.address): \(failure)")
        } else {
            greet(connection)
        }
    }

    func abandon(_ connection: Connection, failure: String) {
        connection.close()
        self.connection = nil
        lastConnectFailure = failure
        connectNextAddress()
    }

    func greet(_ connection: Connection) {
        phase = .greeting
        connection.watchReadable { [self] in readable(connection) }
        do {
            if case .wouldBlock = try connection.send(helloLine) {
                ended(.socketError("send buffer full before HELLO"))
            }
        } catch {
            ended(.socketError("\(error)"))
        }
    }
}

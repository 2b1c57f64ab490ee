// [proxy]: which listeners sit behind a proxy that speaks the PROXY protocol (v1 or v2), by address.
// Those listeners take the client's address from the header; the others treat a header as a bad line.

extension Config {
    public struct Proxy: Sendable, Equatable {
        /// Addresses from `listen` or `[tls] listen`: each connection to them must open with a PROXY header
        /// (on a TLS listener in plain text, before the ClientHello, as HAProxy's `send-proxy` sends it).
        /// Written exactly as in `listen`; one that is no listener is an error.
        public var listeners: [ListenAddress]

        public static let defaults = Proxy(listeners: [])
    }

    /// `[proxy] listeners` must name listeners: a typo would otherwise leave a proxied port reading the
    /// proxy's address as the client's, or a direct port trusting headers. Checked after --listen too.
    public func checkProxyListeners() throws(ConfigError) {
        for (index, address) in proxy.listeners.enumerated()
        where !listen.contains(address) && !tls.listen.contains(address) {
            throw ConfigError(
                key: "proxy.listeners[\(index)]",
                message: "\(tomlQuoted(address.description)) is not in listen or tls.listen")
        }
    }
}

extension Config.Proxy {
    init(reading table: inout TableReader) throws(ConfigError) {
        guard let value = table.value("listeners") else {
            listeners = Self.defaults.listeners
            return
        }
        guard let array = value.array else {
            throw table.error("listeners", "expected an array of addresses from listen, got \(shown(value))")
        }
        var listeners: [ListenAddress] = []
        for (index, element) in array.enumerated() {
            guard let text = element.string else {
                throw table.error(
                    "listeners[\(index)]", "expected a string such as \"0.0.0.0:7702\", got \(shown(element))")
            }
            do {
                listeners.append(try ListenAddress(parsing: text))
            } catch {
                throw table.error("listeners[\(index)]", error.message)
            }
        }
        self.listeners = listeners
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("proxy")
        writer.set("listeners", listeners.map(\.description))
    }
}

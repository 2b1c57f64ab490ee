// [metrics]: the address of the optional Prometheus endpoint (`GET /metrics`, DESIGN.md §6).
// Off by default: an open port is something an operator asks for.

extension Config {
    public struct Metrics: Sendable, Equatable {
        /// nil (written "") for no endpoint. Port 0 lets the kernel pick one (useful in tests).
        public var listen: ListenAddress?

        public static let defaults = Metrics(listen: nil)
    }
}

extension Config.Metrics {
    init(reading table: inout TableReader) throws(ConfigError) {
        guard let value = table.value("listen") else {
            listen = Self.defaults.listen
            return
        }
        guard let text = value.string else {
            throw table.error(
                "listen", "expected an address such as \"127.0.0.1:9464\", or \"\" for none, got \(shown(value))")
        }
        if text.isEmpty {
            listen = nil
            return
        }
        do {
            listen = try ListenAddress(parsing: text)
        } catch {
            throw table.error("listen", error.message)
        }
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("metrics")
        writer.set("listen", listen?.description ?? "")
    }
}

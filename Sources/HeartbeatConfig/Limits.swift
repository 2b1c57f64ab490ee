// [limits]: how long a line may be and how many clients the daemon holds, in all and per address.
// Over a limit a client gets `ERR line-too-long` or `ERR server-full` (DESIGN.md §8); over the connect
// rate of its network it is reset at accept, before it costs a session (DESIGN.md §8, "Connect rate").

extension Config {
    public struct Limits: Sendable, Equatable {
        /// 64...65536 bytes, including the "\n". Also the most a client may leave unread.
        public var maxLine: Int
        /// At least 1.
        public var maxClients: Int
        /// Sessions from one peer address; 0 means no limit.
        public var maxClientsPerAddress: Int
        /// New connections per second from one network (an IPv4 /24, an IPv6 /64); 0 means no limit.
        public var connectRate: Int = 0
        /// How many connections a network may open at once before `connectRate` paces it; 0 means
        /// `connectRate` (one second's worth).
        public var connectBurst: Int = 0

        public static let defaults = Limits(maxLine: 256, maxClients: 1_000_000, maxClientsPerAddress: 0)

        /// The bucket size in force: `connectBurst`, or `connectRate` when that is 0.
        public var effectiveConnectBurst: Int { connectBurst == 0 ? connectRate : connectBurst }
    }
}

extension Config.Limits {
    init(reading table: inout TableReader) throws(ConfigError) {
        let defaults = Self.defaults
        maxLine = try table.integer("max_line", in: 64...65536) ?? defaults.maxLine
        maxClients = try table.integer("max_clients", in: 1...Int.max) ?? defaults.maxClients
        maxClientsPerAddress =
            try table.integer("max_clients_per_address", in: 0...Int.max)
            ?? defaults.maxClientsPerAddress
        connectRate = try table.integer("connect_rate", in: 0...1_000_000) ?? defaults.connectRate
        connectBurst = try table.integer("connect_burst", in: 0...1_000_000) ?? defaults.connectBurst
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("limits")
        writer.set("max_line", maxLine)
        writer.set("max_clients", maxClients)
        writer.set("max_clients_per_address", maxClientsPerAddress)
        writer.set("connect_rate", connectRate)
        writer.set("connect_burst", connectBurst)
    }
}

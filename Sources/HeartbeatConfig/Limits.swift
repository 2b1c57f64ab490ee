// [limits]: how long a line may be and how many clients the daemon holds, in all and per address.
// Over a limit a client gets `ERR line-too-long` or `ERR server-full` (DESIGN.md §8).

extension Config {
    public struct Limits: Sendable, Equatable {
        /// 64...65536 bytes, including the "\n". Also the most a client may leave unread.
        public var maxLine: Int
        /// At least 1.
        public var maxClients: Int
        /// Sessions from one peer address; 0 means no limit.
        public var maxClientsPerAddress: Int

        public static let defaults = Limits(maxLine: 256, maxClients: 1_000_000, maxClientsPerAddress: 0)
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
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("limits")
        writer.set("max_line", maxLine)
        writer.set("max_clients", maxClients)
        writer.set("max_clients_per_address", maxClientsPerAddress)
    }
}

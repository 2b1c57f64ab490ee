// Where the configuration comes from: the file (if any) plus command-line overrides, read the same
// way at start and on every reload.
import HeartbeatConfig
import Posix

struct ConfigSource: Sendable {
    var path: String?
    var listenOverrides: [String]

    /// A configuration file is a few KiB; anything past this is not one.
    static let maximumSize = 1 << 20

    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// The effective configuration, or one message naming the file and the key at fault.
    func load() throws(LoadError) -> Config {
        var config = Config.defaults
        if let path {
            let text: String
            do {
                text = String(decoding: try FileSystem.read(path, limit: Self.maximumSize), as: UTF8.self)
            } catch {
                throw LoadError(description: "\(path): cannot read: \(error.errno)")
            }
            do {
                config = try Config.parse(toml: text)
            } catch {
                throw LoadError(description: "\(path): \(error)")
            }
        }
        if !listenOverrides.isEmpty {
            do {
                config.listen = try listenOverrides.map { text throws(ConfigError) in try ListenAddress(parsing: text) }
            } catch {
                throw LoadError(description: "--listen: \(error.message)")
            }
            do {
                try config.checkProxyListeners()
            } catch {
                throw LoadError(description: "--listen: \(error)")
            }
        }
        return config
    }
}

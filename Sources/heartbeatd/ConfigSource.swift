// Where the configuration comes from: the file (if any) plus command-line overrides, read the same
// way at start and on every reload. A file whose bytes are those of the last one parsed is not parsed
// again: a SIGHUP sent only to reload TLS files or secrets costs no parse (each parse still leaves
// toml++'s emptied 96-byte table behind, which CTOML cannot delete: HeartbeatConfig's TOMLDocument).
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

    /// The last file text parsed and what came of it.
    private var lastText: String?
    private var lastOutcome: Result<Config, ConfigError>?

    init(path: String?, listenOverrides: [String]) {
        self.path = path
        self.listenOverrides = listenOverrides
    }

    /// The effective configuration, or one message naming the file and the key at fault.
    mutating func load() throws(LoadError) -> Config {
        var config = Config.defaults
        if let path {
            let text: String
            do {
                text = String(decoding: try FileSystem.read(path, limit: Self.maximumSize), as: UTF8.self)
            } catch {
                throw LoadError(description: "\(path): cannot read: \(error.errno)")
            }
            if text != lastText {
                lastOutcome = Result { () throws(ConfigError) in try Config.parse(toml: text) }
                lastText = text
            }
            switch lastOutcome {
            case .success(let parsed): config = parsed
            case .failure(let error): throw LoadError(description: "\(path): \(error)")
            case nil: break
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

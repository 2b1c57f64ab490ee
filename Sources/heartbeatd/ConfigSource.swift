// Where the configuration comes from: the file (if any) plus command-line overrides, read the same
// way at start and on every reload.
import Foundation
import HeartbeatConfig

struct ConfigSource: Sendable {
    var path: String?
    var listenOverrides: [String]

    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// The effective configuration, or one message naming the file and the key at fault.
    func load() throws(LoadError) -> Config {
        var config = Config.defaults
        if let path {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw LoadError(description: "\(path): cannot read: \((error as NSError).localizedDescription)")
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
        }
        return config
    }
}

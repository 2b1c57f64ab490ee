// libFuzzer target: a config file's text as the daemon reads it (bytes decoded as UTF-8, then TOML and the
// model's validation). A config that parses must render to TOML that parses back to the same config.
import CLibFuzzer
import HeartbeatConfig

libfuzzer_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let config = try? Config.parse(toml: text) else { return 0 }
    let again = Result { () throws(ConfigError) in try Config.parse(toml: config.rendered()) }
    guard case .success(let reread) = again else {
        preconditionFailure("the rendered config does not parse: \(again)\n\(config.rendered())")
    }
    precondition(reread.rendered() == config.rendered(), "the rendered config reads back differently")
    return 0
}

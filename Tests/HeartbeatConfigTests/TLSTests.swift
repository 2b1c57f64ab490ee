import HeartbeatConfig
// [tls]: listen is a list (empty allowed, none shared with `listen`), paths are absolute or "" where
// allowed, handshake_timeout is a bounded duration; errors name tls.<key>.
import Testing

@Test func readsTLSKeys() throws {
    let config = try Config.parse(
        toml: """
            [tls]
            listen = ["0.0.0.0:7701"]
            certificate = "/etc/heartbeatd/tls/cert.pem"
            key = "/etc/heartbeatd/tls/key.pem"
            client_ca = "/etc/heartbeatd/tls/ca.pem"
            handshake_timeout = "2s"
            """)
    #expect(config.tls.listen == [ListenAddress(host: "0.0.0.0", port: 7701, isIPv6: false)])
    #expect(config.tls.key == "/etc/heartbeatd/tls/key.pem")
    #expect(config.tls.clientCA == "/etc/heartbeatd/tls/ca.pem")
    #expect(config.tls.handshakeTimeout == .seconds(2))
    #expect(try Config.parse(toml: config.rendered()) == config)
    #expect(config.tls.keyPath(credentialsDirectory: "/run/credentials/x") == "/etc/heartbeatd/tls/key.pem")
    #expect(Config.defaults.tls.keyPath(credentialsDirectory: "/run/c") == "/run/c/heartbeatd-tls-key")
    #expect(Config.defaults.tls.keyPath(credentialsDirectory: nil) == nil)
}

@Test(arguments: [
    ("listen = \"0.0.0.0:7701\"", "tls.listen"),
    ("listen = [\"localhost:7701\"]", "tls.listen[0]"),
    ("listen = [\"0.0.0.0:7701\", \"0.0.0.0:7701\"]", "tls.listen[1]"),
    ("certificate = \"\"", "tls.certificate"),
    ("certificate = \"cert.pem\"", "tls.certificate"),
    ("key = \"key.pem\"", "tls.key"),
    ("client_ca = 1", "tls.client_ca"),
    ("handshake_timeout = \"5\"", "tls.handshake_timeout"),
    ("handshake_timeout = \"10ms\"", "tls.handshake_timeout"),
    ("handshake_timeout = \"1h\"", "tls.handshake_timeout"),
    ("ciphers = \"HIGH\"", "tls.ciphers"),
])
func refusesBadTLSValues(toml: String, key: String) {
    #expect(parseError("[tls]\n" + toml)?.key == key)
}

@Test func aTLSAddressMayNotAlsoBePlain() {
    #expect(
        parseError("listen = [\"0.0.0.0:7700\"]\n[tls]\nlisten = [\"0.0.0.0:7700\"]")?.description
            == #"tls.listen[0]: "0.0.0.0:7700" is already listen[0]"#)
}

@Test func tlsListenTakesARestartTheFilesDoNot() throws {
    var next = Config.defaults
    next.tls.certificate = "/other.pem"
    next.tls.handshakeTimeout = .seconds(1)
    #expect(next.restartRequiredChanges(comparedTo: .defaults).isEmpty)
    next.tls.listen = [ListenAddress(host: "0.0.0.0", port: 7701, isIPv6: false)]
    #expect(next.restartRequiredChanges(comparedTo: .defaults) == ["tls.listen"])
}

/// PROXY before TLS: a `[proxy]` entry may name a TLS listener; one that is no listener at all is refused.
@Test func aTLSListenerMayBeProxied() {
    #expect(parseError("[tls]\nlisten = [\"0.0.0.0:7701\"]\n[proxy]\nlisteners = [\"0.0.0.0:7701\"]\n") == nil)
    let error = parseError("[tls]\nlisten = [\"0.0.0.0:7701\"]\n[proxy]\nlisteners = [\"0.0.0.0:7703\"]\n")
    #expect(error?.key == "proxy.listeners[0]")
    #expect(error?.message.contains("is not in listen or tls.listen") == true)
}

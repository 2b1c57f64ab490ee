import HeartbeatConfig
// [auth]: mode, secret_file, previous_secret_file and revoked, where the secrets are read from when their
// keys are "", and the revoked-ids file's lines.
import Testing

@Test(arguments: [
    ("mode = \"off\"", defaults { $0.auth.mode = .off }),
    ("mode = \"hmac\"", defaults { $0.auth.mode = .hmac }),
    ("secret_file = \"/etc/heartbeatd/secret\"", defaults { $0.auth.secretFile = "/etc/heartbeatd/secret" }),
    ("secret_file = \"\"", defaults { $0.auth.secretFile = "" }),
    ("mode = \"challenge\"", defaults { $0.auth.mode = .challenge }),
    ("previous_secret_file = \"/etc/heartbeatd/old\"", defaults { $0.auth.previousSecretFile = "/etc/heartbeatd/old" }),
    ("revoked = \"/etc/heartbeatd/revoked\"", defaults { $0.auth.revoked = "/etc/heartbeatd/revoked" }),
])
func setsAuthKeys(toml: String, expected: Config) throws {
    #expect(try Config.parse(toml: "[auth]\n" + toml) == expected)
}

@Test(arguments: [
    ("mode = \"HMAC\"", "auth.mode"),
    ("mode = \"token\"", "auth.mode"),
    ("mode = true", "auth.mode"),
    ("secret_file = \"secret\"", "auth.secret_file"),
    ("secret_file = 1", "auth.secret_file"),
    ("secret = \"hunter2\"", "auth.secret"),
    ("previous_secret_file = \"old\"", "auth.previous_secret_file"),
    ("revoked = \"revoked\"", "auth.revoked"),
    ("revoked = [\"dev-1\"]", "auth.revoked"),
])
func refusesBadAuthValues(toml: String, key: String) {
    #expect(parseError("[auth]\n" + toml)?.key == key)
}

@Test func badModeListsTheModes() {
    #expect(parseError("[auth]\nmode = \"on\"")?.message == #"expected "off", "hmac" or "challenge", got "on""#)
}

@Test func secretPathPrefersTheFileThenTheCredential() {
    var auth = Config.Auth.defaults
    #expect(auth.secretPath(credentialsDirectory: nil) == nil)
    #expect(auth.secretPath(credentialsDirectory: "") == nil)
    #expect(
        auth.secretPath(credentialsDirectory: "/run/credentials/heartbeatd.service")
            == "/run/credentials/heartbeatd.service/heartbeatd-secret")
    #expect(auth.secretPath(credentialsDirectory: "/run/credentials/x/") == "/run/credentials/x/heartbeatd-secret")
    auth.secretFile = "/etc/heartbeatd/secret"
    #expect(auth.secretPath(credentialsDirectory: "/run/credentials/x") == "/etc/heartbeatd/secret")
}

@Test func previousSecretPathPrefersTheFileThenItsCredential() {
    var auth = Config.Auth.defaults
    #expect(auth.previousSecretPath(credentialsDirectory: nil) == nil)
    #expect(auth.previousSecretPath(credentialsDirectory: "/run/c") == "/run/c/heartbeatd-previous-secret")
    auth.previousSecretFile = "/etc/heartbeatd/old"
    #expect(auth.previousSecretPath(credentialsDirectory: "/run/c") == "/etc/heartbeatd/old")
}

@Test func revokedIDsAreOnePerLineWithComments() throws {
    let text = "# retired 2024-05\ndev-1\n  dev-2  # stolen\n\n\t\nuser@site:7.a_b-c\r\n"
    #expect(try RevokedIDs.parse(text) == ["dev-1", "dev-2", "user@site:7.a_b-c"])
    #expect(try RevokedIDs.parse("") == [])
}

@Test(arguments: [
    ("dev-1\ndev 2\n", "line 2", #""dev 2" is not a client id (1-64 bytes of A-Z a-z 0-9 . _ : @ -)"#),
    ("# ok\n\nweb/7\n", "line 3", #""web/7" is not a client id (1-64 bytes of A-Z a-z 0-9 . _ : @ -)"#),
    (
        String(repeating: "a", count: 65), "line 1",
        "\"\(String(repeating: "a", count: 65))\" is not a client id (1-64 bytes of A-Z a-z 0-9 . _ : @ -)"
    ),
])
func aBadRevokedLineIsNamed(text: String, key: String, message: String) {
    do {
        _ = try RevokedIDs.parse(text)
        Issue.record("parsed \(text.debugDescription)")
    } catch {
        #expect(error.key == key)
        #expect(error.message == message)
    }
}

@Test func proxyListenersNameListeners() throws {
    let config = try Config.parse(
        toml: "listen = [\"0.0.0.0:7700\", \"[::]:7702\"]\n[proxy]\nlisteners = [\"[::]:7702\"]\n")
    #expect(config.proxy.listeners.map(\.description) == ["[::]:7702"])
    #expect(try Config.parse(toml: config.rendered()) == config)
    #expect(Config.defaults.proxy.listeners.isEmpty)
    let stray = parseError("listen = [\"0.0.0.0:7700\"]\n[proxy]\nlisteners = [\"0.0.0.0:7702\"]\n")
    #expect(stray?.key == "proxy.listeners[0]")
    #expect(stray?.message == #""0.0.0.0:7702" is not in listen or tls.listen"#)
    #expect(parseError("[proxy]\nlisteners = \"0.0.0.0:7700\"\n")?.key == "proxy.listeners")
    #expect(parseError("[proxy]\nlisteners = [\"nowhere\"]\n")?.key == "proxy.listeners[0]")
    #expect(parseError("[proxy]\nlisteners = [7700]\n")?.key == "proxy.listeners[0]")
    #expect(parseError("[proxy]\nversion = 2\n")?.key == "proxy.version")
}

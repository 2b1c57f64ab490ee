import HeartbeatConfig
// [auth]: mode and secret_file, and where the secret is read from when secret_file is "".
import Testing

@Test(arguments: [
    ("mode = \"off\"", defaults { $0.auth.mode = .off }),
    ("mode = \"hmac\"", defaults { $0.auth.mode = .hmac }),
    ("secret_file = \"/etc/heartbeatd/secret\"", defaults { $0.auth.secretFile = "/etc/heartbeatd/secret" }),
    ("secret_file = \"\"", defaults { $0.auth.secretFile = "" }),
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
])
func refusesBadAuthValues(toml: String, key: String) {
    #expect(parseError("[auth]\n" + toml)?.key == key)
}

@Test func badModeListsTheModes() {
    #expect(parseError("[auth]\nmode = \"on\"")?.message == #"expected "off" or "hmac", got "on""#)
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

import HeartbeatConfig
// [control]: the socket path and group, each bad value refused under its own key.
import Testing

@Test(arguments: [
    ("socket = \"/tmp/hb.sock\"", defaults { $0.control.socket = "/tmp/hb.sock" }),
    ("socket = \"\"", defaults { $0.control.socket = "" }),
    (
        "socket = \"/\(String(repeating: "a", count: 106))\"",
        defaults {
            $0.control.socket = "/" + String(repeating: "a", count: 106)
        }
    ),
    ("group = \"heartbeat-ops\"", defaults { $0.control.group = "heartbeat-ops" }),
    ("group = \"_svc.team$\"", defaults { $0.control.group = "_svc.team$" }),
    ("group = \"\"", defaults { $0.control.group = "" }),
])
func setsControlKeys(toml: String, expected: Config) throws {
    #expect(try Config.parse(toml: "[control]\n" + toml) == expected)
}

@Test(arguments: [
    ("socket = \"run/hb.sock\"", "control.socket"),
    ("socket = \"/\(String(repeating: "a", count: 107))\"", "control.socket"),
    ("socket = 1", "control.socket"),
    ("group = \"-ops\"", "control.group"),
    ("group = \"ops team\"", "control.group"),
    ("group = \"a:b\"", "control.group"),
    ("group = \"\(String(repeating: "g", count: 33))\"", "control.group"),
    ("group = 1000", "control.group"),
    ("mode = \"0660\"", "control.mode"),
])
func refusesBadControlValues(toml: String, key: String) {
    #expect(parseError("[control]\n" + toml)?.key == key)
}

@Test func badSocketPathSaysWhatIsExpected() {
    #expect(
        parseError("[control]\nsocket = \"hb.sock\"")?.message
            == #"expected an absolute path of at most 107 bytes, or "" for none, got "hb.sock""#)
}

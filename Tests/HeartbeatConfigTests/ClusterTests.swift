// [cluster]: every key read and rendered back, the defaults, and an error that names the key for
// each bad value.
import HeartbeatConfig
import Testing

@Suite struct ClusterConfigTests {
    @Test func readsEveryKey() throws {
        let config = try Config.parse(
            toml: """
                [cluster]
                redis = "unix:/run/redis/redis.sock"
                node = "n1.example"
                prefix = "hb:"
                lease = "3s"
                password_file = "/etc/heartbeatd/redis-password"
                stream_maxlen = 5000
                buffer = 7
                """)
        let cluster = config.cluster
        #expect(cluster.redis == "unix:/run/redis/redis.sock" && cluster.node == "n1.example")
        #expect(cluster.prefix == "hb:" && cluster.lease == .seconds(3))
        #expect(cluster.passwordFile == "/etc/heartbeatd/redis-password")
        #expect(cluster.streamMaxlen == 5_000 && cluster.buffer == 7)
        #expect(try Config.parse(toml: config.rendered()) == config)
        #expect(!Config.defaults.cluster.isEnabled && config.cluster.isEnabled)
    }

    @Test(arguments: [
        ("redis = \"localhost\"", "cluster.redis"), ("redis = \"h:0\"", "cluster.redis"),
        ("redis = \"unix:rel\"", "cluster.redis"), ("node = \"a b\"", "cluster.node"),
        ("node = \"x{y}\"", "cluster.node"), ("prefix = \"{p}\"", "cluster.prefix"),
        ("lease = \"1s\"", "cluster.lease"),
        ("lease = \"6m\"", "cluster.lease"), ("password_file = \"rel\"", "cluster.password_file"),
        ("stream_maxlen = 10", "cluster.stream_maxlen"), ("buffer = 0", "cluster.buffer"),
        ("colour = 1", "cluster.colour"),
    ])
    func refusesBadValuesNamingTheKey(line: String, key: String) {
        do {
            _ = try Config.parse(toml: "[cluster]\n\(line)\n")
            Issue.record("accepted \(line)")
        } catch {
            #expect(error.key == key)
        }
    }

    @Test func aChangeTakesARestart() {
        var next = Config.defaults
        next.cluster.redis = "127.0.0.1:6379"
        #expect(next.restartRequiredChanges(comparedTo: .defaults) == ["cluster"])
    }
}

// hiredis's replies as values, against a real redis-server: every reply type, binary-safe strings,
// nested arrays, and endpoints as `[cluster] redis` and `--redis` take them.
import Hiredis
import TestSupport
import Testing

@Suite struct RedisValueTests {
    @Test func everyReplyTypeComesBackAsAValue() async throws {
        let server = try await RedisServer()
        let redis = try BlockingRedis(.tcp(host: "127.0.0.1", port: server.port))
        #expect(try redis.command(["PING"]) == .status("PONG"))
        #expect(try redis.command(["SET", "k", "v"]) == .status("OK"))
        #expect(try redis.command(["GET", "k"]) == .string(Array("v".utf8)))
        #expect(try redis.command(["GET", "missing"]) == .null)
        #expect(try redis.command(["INCR", "n"]) == .integer(1))
        #expect(try redis.command(["INCR", "k"]).errorText?.hasPrefix("ERR") == true)
        _ = try redis.command(bytes: [Array("SET".utf8), Array("bin".utf8), [0, 0xFF, 0x0A, 0]])
        #expect(try redis.command(["GET", "bin"]) == .string([0, 0xFF, 0x0A, 0]))
        #expect(
            try redis.command(["EVAL", "return {1, {'a', {2}}}", "0"])
                == .array([.integer(1), .array([.string(Array("a".utf8)), .array([.integer(2)])])]))
        let replies = try redis.pipeline([["HSET", "h", "a", "1", "b", "2"], ["HGETALL", "h"]])
        #expect(replies.last?.fieldMap == ["a": "1", "b": "2"])
    }

    @Test func wrongShapesAreNotFieldMaps() {
        #expect(RedisValue.array([.string([0x61])]).fieldMap == nil)
        #expect(RedisValue.integer(3).fieldMap == nil)
        #expect(RedisValue.array([.integer(1), .integer(2)]).fieldMap == nil)
        #expect(RedisValue.error("WRONGTYPE x").kindName.hasPrefix("error"))
    }

    @Test func endpoints() throws {
        #expect(try RedisEndpoint.parse("127.0.0.1:6379").get() == .tcp(host: "127.0.0.1", port: 6_379))
        #expect(try RedisEndpoint.parse("[::1]:6380").get() == .tcp(host: "::1", port: 6_380))
        #expect(try RedisEndpoint.parse("unix:/run/redis/redis.sock").get() == .unix(path: "/run/redis/redis.sock"))
        for bad in ["", "localhost", "unix:relative", "host:0", "host:99999"] {
            #expect((try? RedisEndpoint.parse(bad).get()) == nil, "\(bad)")
        }
    }

    @Test func refusedConnectionIsAnError() throws {
        let port = try freePort()
        #expect(throws: HiredisError.self) { try BlockingRedis(.tcp(host: "127.0.0.1", port: port)) }
    }

    /// Words empty, short, multi-byte and past a stack allocation's size come back byte for byte.
    @Test func argvHoldsEveryWordsBytes() {
        let words = ["EVALSHA", "", "héllo", String(repeating: "x", count: 5_000), "1"]
        let back = withArgv(words) { count, argv, lengths in
            (0..<Int(count)).map { index in
                let bytes = UnsafeRawBufferPointer(start: argv[index], count: lengths[index])
                return String(decoding: bytes, as: UTF8.self)
            }
        }
        #expect(back == words)
    }
}

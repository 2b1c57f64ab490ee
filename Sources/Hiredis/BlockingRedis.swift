// A blocking Redis connection over hiredis's synchronous API, for heartbeatctl and the tests. The
// daemon never uses it: its link is asynchronous, on its own event loop (Sources/Cluster).
import CHiredis

public final class BlockingRedis {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects within `timeoutMilliseconds`, which also bounds every later read and write; sends
    /// AUTH first when a password is given.
    public init(
        _ endpoint: RedisEndpoint, password: String? = nil, timeoutMilliseconds: Int = 2_000
    ) throws(HiredisError) {
        let limit = timeval(tv_sec: timeoutMilliseconds / 1_000, tv_usec: (timeoutMilliseconds % 1_000) * 1_000)
        let made: UnsafeMutablePointer<redisContext>?
        switch endpoint {
        case .tcp(let host, let port): made = redisConnectWithTimeout(host, Int32(port), limit)
        case .unix(let path): made = redisConnectUnixWithTimeout(path, limit)
        }
        guard let made else { throw .connection("cannot allocate a hiredis context") }
        if made.pointee.err != 0 {
            let why = Self.errorText(made)
            redisFree(made)
            throw .connection("cannot connect to \(endpoint): \(why)")
        }
        _ = redisSetTimeout(made, limit)
        context = made
        if let password, !password.isEmpty {
            let answer = try command(["AUTH", password])
            if let error = answer.errorText { throw .reply(error) }
        }
    }

    deinit { redisFree(context) }

    /// One command, one reply. An error reply is returned as `.error`, not thrown; a lost connection throws.
    public func command(_ words: [String]) throws(HiredisError) -> RedisValue {
        try command(bytes: words.map { Array($0.utf8) })
    }

    public func command(bytes words: [[UInt8]]) throws(HiredisError) -> RedisValue {
        let raw = withArgv(words) { count, argv, lengths in redisCommandArgv(context, count, argv, lengths) }
        guard let raw else { throw .connection(Self.errorText(context)) }
        defer { freeReplyObject(raw) }
        return RedisValue(reply: raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Several commands in one round trip; one reply each, in order.
    public func pipeline(_ commands: [[String]]) throws(HiredisError) -> [RedisValue] {
        for words in commands {
            let status = withArgv(words.map { Array($0.utf8) }) { count, argv, lengths in
                redisAppendCommandArgv(context, count, argv, lengths)
            }
            guard status == REDIS_OK else { throw .connection(Self.errorText(context)) }
        }
        var replies: [RedisValue] = []
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw .connection(Self.errorText(context))
            }
            replies.append(RedisValue(reply: raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
        return replies
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "connection lost" : String(decoding: bytes, as: UTF8.self)
        }
    }
}

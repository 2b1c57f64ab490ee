// One asynchronous hiredis connection driven by an EventLoop: hiredis's adapter hooks
// (ev.addRead/delRead/addWrite/delWrite/cleanup) set this connection's epoll interest, and the
// loop's readiness calls redisAsyncHandleRead/Write. Nothing here blocks: connect is non-blocking,
// commands are queued in hiredis's output buffer and written once per loop turn (`flush`); only what
// the socket did not take then waits for EPOLLOUT.
//
// hiredis 0.14 has no timeouts of its own: the owner watches the oldest unanswered command and
// calls `close()` (redisAsyncFree) when Redis is too slow. `onReply` then gets nil once for every
// command still unanswered.
//
// Replies come back in the order the commands went out (one connection), so a command carries no
// closure: `onReply` gets each answer and the owner pops what it was waiting for from a queue of its
// own (ClusterLink's `awaiting`). Only the subscription keeps a closure of its own.
import CHiredis
import EventLoop
import Hiredis
import Posix

final class RedisConnection {
    /// A reply, or nil when the connection went away first.
    typealias Reply = (RedisValue?) -> Void

    private let loop: EventLoop
    private let name: String
    private var handler: EventLoop.HandlerID!
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private var descriptor: DescriptorID?
    private var interest: Readiness = []
    private var isRegistered = false
    /// Connected: the socket is up (hiredis called the connect callback with REDIS_OK).
    private(set) var isConnected = false
    /// Commands were queued since the last `flush` (hiredis asked for writability and was not given it).
    private var hasUnflushed = false
    private var isFlushing = false

    /// The socket is up; the owner sends AUTH and its first commands.
    var onConnected: () -> Void = {}
    /// Connecting failed or the connection closed (hiredis's reason); it may be opened again.
    var onClosed: (String) -> Void = { _ in }
    /// Each command's answer in order, or nil for each one unanswered when the connection ends; not
    /// the subscription's messages.
    var onReply: (RedisValue?) -> Void = { _ in }

    init(loop: EventLoop, name: String) {
        self.loop = loop
        self.name = name
        handler = loop.addHandler { [unowned self] _, readiness in self.ready(readiness) }
    }

    deinit { close() }

    var isOpen: Bool { context != nil }

    /// Starts a non-blocking connect; false (with `onClosed` not called) when hiredis could not even start one.
    func open(_ endpoint: RedisEndpoint) -> Result<Void, HiredisError> {
        precondition(context == nil, "RedisConnection.open while open")
        let made: UnsafeMutablePointer<redisAsyncContext>?
        switch endpoint {
        case .tcp(let host, let port): made = redisAsyncConnect(host, Int32(port))
        case .unix(let path): made = redisAsyncConnectUnix(path)
        }
        guard let made else { return .failure(.connection("cannot allocate a hiredis context")) }
        if made.pointee.err != 0 {
            let why = Self.text(made.pointee.errstr)
            redisAsyncFree(made)
            return .failure(.connection(why))
        }
        context = made
        descriptor = DescriptorID(number: made.pointee.c.fd)
        interest = []
        isRegistered = false
        let me = Unmanaged.passUnretained(self).toOpaque()
        made.pointee.data = me
        made.pointee.ev.data = me
        made.pointee.ev.addRead = { data in RedisConnection.from(data).want(.readable, true) }
        made.pointee.ev.delRead = { data in RedisConnection.from(data).want(.readable, false) }
        made.pointee.ev.addWrite = { data in RedisConnection.from(data).want(.writable, true) }
        made.pointee.ev.delWrite = { data in RedisConnection.from(data).want(.writable, false) }
        made.pointee.ev.cleanup = { data in RedisConnection.from(data).forgetDescriptor() }
        _ = redisAsyncSetConnectCallback(made) { context, status in
            guard let owner = context?.pointee.data else { return }
            let connection = RedisConnection.from(owner)
            if status == REDIS_OK {
                connection.isConnected = true
                connection.onConnected()
            } else {
                // hiredis frees the context after this callback, without a disconnect callback.
                let why = context.map { RedisConnection.text($0.pointee.errstr) } ?? "connect failed"
                connection.ended(why)
            }
        }
        _ = redisAsyncSetDisconnectCallback(made) { context, status in
            guard let owner = context?.pointee.data else { return }
            let why =
                status == REDIS_OK ? "closed" : (context.map { RedisConnection.text($0.pointee.errstr) } ?? "lost")
            RedisConnection.from(owner).ended(why)
        }
        return .success(())
    }

    /// Queues one command; `onReply` gets its answer (or nil if the connection ends first). False when
    /// closed (or closing): then `onReply` will not hear of it.
    @discardableResult
    func send(_ words: [String]) -> Bool {
        guard let context else { return false }
        let status = withArgv(words) { count, argv, lengths in
            redisAsyncCommandArgv(context, Self.answer, nil, count, argv, lengths)
        }
        return status == REDIS_OK
    }

    /// Queues the command `argv` holds, as `send(_:)` does (the cluster link's per-event commands).
    @discardableResult
    func send(_ argv: borrowing Argv) -> Bool {
        guard let context else { return false }
        let status = argv.withArgv { count, words, lengths in
            redisAsyncCommandArgv(context, Self.answer, nil, count, words, lengths)
        }
        return status == REDIS_OK
    }

    /// Writes the commands queued since the last call; the owner calls it at the end of each loop turn.
    /// hiredis asks for writability after every command: one write per turn instead of an epoll_ctl
    /// pair and a wake-up per batch (docs/benchmarks.md, "Cluster").
    func flush() {
        guard hasUnflushed, let context else { return }
        hasUnflushed = false
        isFlushing = true
        // A short write makes hiredis ask again (registered for EPOLLOUT now); a failed one closes.
        redisAsyncHandleWrite(context)
        isFlushing = false
    }

    /// SUBSCRIBE: `message` gets every reply on the channel (the confirmation, then each message).
    @discardableResult
    func subscribe(_ channel: String, message: @escaping Reply) -> Bool {
        guard let context else { return false }
        let box = Unmanaged.passRetained(ReplyBox(message)).toOpaque()
        let status = withArgv(["SUBSCRIBE", channel]) { count, argv, lengths in
            redisAsyncCommandArgv(context, Self.callback, box, count, argv, lengths)
        }
        if status != REDIS_OK {
            Unmanaged<ReplyBox>.fromOpaque(box).release()
            return false
        }
        return true
    }

    /// Closes at once: pending replies get nil, `onClosed` is called. Harmless when already closed.
    func close() {
        guard let context else { return }
        redisAsyncFree(context)
        // The disconnect callback ran (if it was connected); make sure we are forgotten either way.
        if self.context != nil { ended("closed") }
    }

    // MARK: hiredis's hooks

    /// A command's answer (hiredis needs a callback to call at all; the owner's queue says what it was for).
    private static let answer:
        @convention(c) (
            UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?
        ) -> Void = { context, reply, _ in
            guard let owner = context?.pointee.data else { return }
            from(owner).onReply(reply.map { RedisValue(reply: $0.assumingMemoryBound(to: redisReply.self)) })
        }

    /// The subscription's messages, through its box in hiredis's privdata.
    private static let callback:
        @convention(c) (
            UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?
        ) -> Void = { _, reply, privdata in
            guard let privdata else { return }
            let unmanaged = Unmanaged<ReplyBox>.fromOpaque(privdata)
            let box = unmanaged.takeUnretainedValue()
            let value = reply.map { RedisValue(reply: $0.assumingMemoryBound(to: redisReply.self)) }
            // Released when hiredis says the subscription is over (nil).
            if value == nil { unmanaged.release() }
            box.reply(value)
        }

    private static func from(_ data: UnsafeMutableRawPointer?) -> RedisConnection {
        Unmanaged<RedisConnection>.fromOpaque(data!).takeUnretainedValue()
    }

    private func want(_ readiness: Readiness, _ isWanted: Bool) {
        guard let descriptor else { return }
        // Connected, a new command's "add write" waits for `flush`. While connecting, EPOLLOUT is how
        // hiredis learns the connect finished, so it is registered as asked.
        if readiness == .writable, isWanted, isConnected, !isFlushing, !interest.contains(.writable) {
            hasUnflushed = true
            return
        }
        let next = isWanted ? interest.union(readiness) : interest.subtracting(readiness)
        guard next != interest || !isRegistered else { return }
        interest = next
        do {
            if isRegistered {
                try loop.modify(descriptor, interest: next)
            } else {
                try loop.register(descriptor, interest: next, handler: handler)
                isRegistered = true
            }
        } catch {
            // epoll refused a descriptor hiredis just made: nothing can be read from it; give it up.
            close()
        }
    }

    private func forgetDescriptor() {
        if let descriptor, isRegistered { loop.unregister(descriptor) }
        isRegistered = false
        descriptor = nil
        interest = []
    }

    private func ready(_ readiness: Readiness) {
        guard let context else { return }
        if !readiness.isDisjoint(with: [.readable, .error, .hangUp, .peerClosed]) {
            redisAsyncHandleRead(context)
        }
        // The read may have freed the context (EOF): look again before writing.
        if readiness.contains(.writable), let context = self.context {
            redisAsyncHandleWrite(context)
        }
    }

    private func ended(_ why: String) {
        forgetDescriptor()
        hasUnflushed = false
        context = nil
        isConnected = false
        onClosed(why)
    }

    private static func text(_ errstr: UnsafeMutablePointer<CChar>?) -> String {
        guard let errstr else { return "connection lost" }
        return String(cString: errstr)
    }
}

/// The subscription's closure, passed through hiredis's privdata.
private final class ReplyBox {
    let reply: RedisConnection.Reply
    init(_ reply: @escaping RedisConnection.Reply) { self.reply = reply }
}

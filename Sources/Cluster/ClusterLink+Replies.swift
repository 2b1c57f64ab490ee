// The command connection's commands in flight and what each answer is for. Redis answers one
// connection's commands in order, so the link keeps a queue instead of a closure per command: the
// presence path's claim, release and append (several per churn cycle) cost no allocation for their
// reply (a closure context, a NOSCRIPT wrapper and hiredis's privdata box each, before); the rare
// commands (lease, reconcile, node loss) keep a closure.
import ClusterSchema
import Hiredis

extension ClusterLink {
    /// What an answer is for.
    enum Then {
        case nothing
        case reply(RedisConnection.Reply)
        /// `claim` of this id.
        case claim(String)
        /// `release`: the entry to append (as `replaced` when another node's session holds the id).
        case release(StreamEntry)
        /// `append` of this many entries.
        case append(Int)
    }

    /// A command in flight.
    struct Awaiting {
        var sentAt: UInt64
        var then: Then
        /// An EVALSHA's script and words, to send again as EVAL when Redis answers NOSCRIPT.
        var script: Script?
        var words: [String]

        /// What an answered slot holds until the queue is compacted (its strings released).
        static var done: Awaiting { Awaiting(sentAt: 0, then: .nothing, script: nil, words: []) }
    }

    /// Sends one command on the command connection, timed for `lag` and the stall check (`tick`).
    func send(_ words: [String], then: Then = .nothing, script: Script? = nil) {
        guard commands.send(words) else { return settle(then, nil) }
        awaiting.append(Awaiting(sentAt: loop.now, then: then, script: script, words: script == nil ? [] : words))
    }

    func send(_ words: [String], reply: @escaping RedisConnection.Reply) { send(words, then: .reply(reply)) }

    /// The first words of a call of `script`: EVALSHA, or EVAL with the source when Redis does not know
    /// the script (it restarted, or the SCRIPT LOAD is still in flight); the caller appends the keys
    /// and arguments (`keyCount` of them keys) and passes the words to `send(_:then:script:)`.
    func call(_ script: Script, keyCount: Int, capacity: Int) -> [String] {
        var words: [String] = []
        words.reserveCapacity(3 + capacity)
        if let sha = shas[script] {
            words.append("EVALSHA")
            words.append(sha)
        } else {
            words.append("EVAL")
            words.append(script.source)
        }
        words.append(String(keyCount))
        return words
    }

    /// A script call for the rare paths, with a closure for its answer.
    func run(_ script: Script, keys scriptKeys: [String], _ arguments: [String], reply: @escaping RedisConnection.Reply)
    {
        var words = call(script, keyCount: scriptKeys.count, capacity: scriptKeys.count + arguments.count)
        words += scriptKeys
        words += arguments
        send(words, then: .reply(reply), script: script)
    }

    /// The oldest command in flight got its answer (nil: the connection ended first).
    func answered(_ reply: RedisValue?) {
        guard awaitingHead < awaiting.count else { return }
        let oldest = awaiting[awaitingHead]
        awaiting[awaitingHead] = .done
        status.lagMS = (loop.now &- oldest.sentAt) / 1_000_000
        awaitingHead += 1
        if awaitingHead == awaiting.count {
            awaiting.removeAll(keepingCapacity: true)
            awaitingHead = 0
        } else if awaitingHead > 1024, awaitingHead * 2 > awaiting.count {
            awaiting.removeFirst(awaitingHead)
            awaitingHead = 0
        }
        // Redis has lost its script cache: run it from the source (Redis caches it again) and forget the SHA.
        if let script = oldest.script, oldest.words[0] == "EVALSHA", let error = reply?.errorText,
            error.hasPrefix("NOSCRIPT")
        {
            shas[script] = nil
            var words = oldest.words
            words[0] = "EVAL"
            words[1] = script.source
            return send(words, then: oldest.then, script: script)
        }
        settle(oldest.then, reply)
    }

    private func settle(_ then: Then, _ reply: RedisValue?) {
        switch then {
        case .nothing: break
        case .reply(let body): body(reply)
        case .claim(let id): claimed(id, reply)
        case .release(let entry): released(entry, reply)
        case .append(let count): appended(count, reply)
        }
    }
}

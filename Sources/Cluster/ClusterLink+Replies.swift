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
        /// `claim` of this id for this session.
        case claim(String, Held)
        /// `release` of the session whose online had `online` as seq: the entry to append (as `replaced`
        /// when another node's session holds the id).
        case release(StreamEntry, online: UInt64)
        /// `append` of these entries.
        case append(ArraySlice<StreamEntry>)
        /// `turn` of these changes and set changes.
        case turn(ArraySlice<ClusterLink.Change>, joins: [String], leaves: [String])
    }

    /// A command in flight.
    struct Awaiting {
        var sentAt: UInt64
        var then: Then
        /// The script an EVALSHA called, to send again as EVAL when Redis answers NOSCRIPT; nil otherwise.
        var evalsha: Script?
        /// The rare paths' words for that EVAL; the presence path's commands are built again from `then`.
        var words: [String]

        /// What an answered slot holds until the queue is compacted (its strings released).
        static var done: Awaiting { Awaiting(sentAt: 0, then: .nothing, evalsha: nil, words: []) }
    }

    /// Sends one plain command (or a script's EVAL retry) on the command connection, timed for `lag`
    /// and the stall check (`tick`).
    func send(_ words: [String], then: Then = .nothing) {
        guard commands.send(words) else { return settle(then, nil) }
        awaiting.append(Awaiting(sentAt: loop.now, then: then, evalsha: nil, words: []))
    }

    func send(_ words: [String], reply: @escaping RedisConnection.Reply) { send(words, then: .reply(reply)) }

    /// A script call for the rare paths (lease, reconcile, node loss), with a closure for its answer.
    /// Written as the presence path's are (`begin`), but it keeps its words for a NOSCRIPT retry.
    func run(_ script: Script, keys scriptKeys: [String], _ arguments: [String], reply: @escaping RedisConnection.Reply)
    {
        begin(script, keyCount: scriptKeys.count)
        for key in scriptKeys { argv.append(key) }
        for argument in arguments { argv.append(argument) }
        sendArgv(then: .reply(reply), script: script, words: argvIsSHA ? argv.words : [])
    }

    /// Starts a call of `script` in `argv`: EVALSHA, or EVAL with the source when Redis does not know
    /// the script (it restarted, or the SCRIPT LOAD is still in flight); the caller writes the keys and
    /// arguments (`keyCount` of them keys) and calls `sendArgv`. No array, no String per word: the
    /// presence path's run several times a churn cycle (docs/benchmarks.md, "Eighth round").
    func begin(_ script: Script, keyCount: Int) {
        argv.removeAll()
        if let sha = shas[script] {
            argv.append("EVALSHA")
            argv.append(sha)
            argvIsSHA = true
        } else {
            argv.append("EVAL")
            argv.append(script.source)
            argvIsSHA = false
        }
        argv.append(UInt64(clamping: keyCount))
    }

    /// Sends the command in `argv` (a script call begun with `begin`, or `script` nil for a plain one).
    /// `words`: what a NOSCRIPT retry sends (the rare paths'); the presence path's commands are built
    /// again from `then`.
    func sendArgv(then: consuming Then, script: Script?, words: [String] = []) {
        guard commands.send(argv) else { return settle(then, nil) }
        let evalsha = argvIsSHA ? script : nil
        awaiting.append(Awaiting(sentAt: loop.now, then: then, evalsha: evalsha, words: words))
    }

    /// The oldest command in flight got its answer (nil: the connection ended first).
    func answered(_ reply: RedisValue?) {
        guard awaitingHead < awaiting.count else { return }
        // Moved out, not copied: a copy retained every string it holds only to release them again.
        var oldest = Awaiting.done
        swap(&oldest, &awaiting[awaitingHead])
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
        if let script = oldest.evalsha, let error = reply?.errorText, error.hasPrefix("NOSCRIPT") {
            shas[script] = nil
            return again(oldest, script)
        }
        settle(oldest.then, reply)
    }

    /// Sends an EVALSHA answered NOSCRIPT again, as EVAL (`shas` no longer names the script).
    private func again(_ command: Awaiting, _ script: Script) {
        switch command.then {
        case .claim(let id, let session): sendClaim(id, session)
        case .release(let entry, let online): sendRelease(entry, online: online)
        case .append(let entries): sendAppend(entries)
        case .turn(let changes, let joins, let leaves): sendTurn(changes, joins: joins, leaves: leaves)
        case .nothing, .reply:
            var words = command.words
            words[0] = "EVAL"
            words[1] = script.source
            send(words, then: command.then)
        }
    }

    private func settle(_ then: Then, _ reply: RedisValue?) {
        switch then {
        case .nothing: break
        case .reply(let body): body(reply)
        case .claim(let id, _): claimed(id, reply)
        case .release(let entry, _): released(entry, reply)
        case .append(let entries): appended(entries.count, reply)
        case .turn(let changes, _, _): turned(changes, reply)
        }
    }
}

/// The SHA of each script Redis has loaded: an array by script, not a dictionary, because `begin` looks
/// one up for every presence command and hashing the key cost more than writing the SHA.
struct ScriptSHAs {
    private var shas: [String?] = Array(repeating: nil, count: Script.allCases.count)

    subscript(script: Script) -> String? {
        get { shas[Self.slot(script)] }
        set { shas[Self.slot(script)] = newValue }
    }

    private static func slot(_ script: Script) -> Int {
        switch script {
        case .claim: 0
        case .release: 1
        case .reannounce: 2
        case .drop: 3
        case .lease: 4
        case .reap: 5
        case .append: 6
        case .turn: 7
        }
    }
}

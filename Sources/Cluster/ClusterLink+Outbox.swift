// What a loop turn's presence events leave for the end of the turn. On a Redis Cluster: their stream
// entries, sent as one `append` script call (the stream is one key, so one slot), and each id's last
// change in this node's set, sent as one SADD and one SREM; only the record's own script goes out per
// event (every client's record is a slot of its own). On a single Redis (`batchesTurns`): the turn's
// claims, releases and entries in order, and the set changes, in one `turn` script call.
// See docs/design.md, "Scripts and round trips".
import ClusterSchema
import Hiredis

struct Outbox {
    /// Stream entries in the order they were made (Redis Cluster).
    var entries: [StreamEntry] = []
    /// Claims, releases and entries in the order they were made (a single Redis: `batchesTurns`).
    var changes: [ClusterLink.Change] = []
    /// Each id's last change this turn: true when it joined this node's set, false when it left it.
    var membership: [String: Bool] = [:]
}

extension ClusterLink {
    /// One presence change of a turn for the `turn` script (Script.turn).
    enum Change {
        /// Write the record of `id` for this session, and its `online` entry.
        case claim(String, Held)
        /// Compare-and-delete the record of the session whose online had `online` as seq, then the entry
        /// (as `replaced` when the record was not that session's).
        case release(StreamEntry, online: UInt64)
        case entry(StreamEntry)
    }

    /// Entries per `append` call: a reconnect's buffered backlog goes out in calls this long, so one
    /// script does not hold Redis for long.
    static let entriesPerAppend = 256
    /// Changes per `turn` call (each makes one stream entry), for the same reason.
    static let changesPerTurn = 256
    /// Ids per SADD/SREM (a mass reap's offline events can all land in one turn).
    static let idsPerCommand = 1_000

    func join(_ id: String) { outbox.membership[id] = true }
    func leave(_ id: String) { outbox.membership[id] = false }

    /// The end of a loop turn, before the connections write: the turn's set changes and entries go out.
    /// When the link went down meanwhile the entries are kept; the set is rewritten by the reconcile.
    func sendOutbox() {
        guard !outbox.entries.isEmpty || !outbox.changes.isEmpty || !outbox.membership.isEmpty else { return }
        let entries = outbox.entries
        outbox.entries.removeAll(keepingCapacity: true)
        let changes = outbox.changes
        outbox.changes.removeAll(keepingCapacity: true)
        // The set changes are read in place and cleared after; the `append` and `turn` calls keep slices
        // of `entries` and `changes` until they are answered (to send them again on NOSCRIPT).
        defer { outbox.membership.removeAll(keepingCapacity: true) }
        guard isSending else {
            for entry in entries { keep(entry) }
            for change in changes { keep(self.entry(of: change)) }
            return
        }
        // The set changes ride in the first `turn` call when they fit in one SADD and one SREM.
        var joins: [String] = []
        var leaves: [String] = []
        if !changes.isEmpty, outbox.membership.count <= Self.idsPerCommand {
            for (id, joined) in outbox.membership {
                if joined { joins.append(id) } else { leaves.append(id) }
            }
        } else {
            sendMembership(true)
            sendMembership(false)
        }
        // Runs of this node's own entries go as seven values each, with the node once (nearly every
        // entry); another node's (a survivor's node-lost clean-up) or one with `by`/`count` as ten.
        // Calls go out in order, so the stream keeps the entries' order.
        var start = 0
        while start < entries.count {
            let isShort = entries[start].isShort(for: settings.node)
            var end = start + 1
            while end < entries.count, end - start < Self.entriesPerAppend,
                entries[end].isShort(for: settings.node) == isShort
            {
                end += 1
            }
            sendAppend(entries[start..<end])
            start = end
        }
        for start in stride(from: 0, to: changes.count, by: Self.changesPerTurn) {
            let slice = changes[start..<min(start + Self.changesPerTurn, changes.count)]
            sendTurn(slice, joins: start == 0 ? joins : [], leaves: start == 0 ? leaves : [])
        }
    }

    /// One `turn` call: the set changes, then `changes` in order (Script.turn).
    func sendTurn(_ changes: ArraySlice<Change>, joins: [String], leaves: [String]) {
        var records = 0
        for change in changes {
            if case .entry = change { continue }
            records += 1
        }
        begin(.turn, keyCount: 2 + records)
        argv.append(keys.events)
        argv.append(idsKey)
        for change in changes {
            switch change {
            case .claim(let id, _): writeClientKey(id)
            case .release(let entry, _): writeClientKey(entry.id)
            case .entry: break
            }
        }
        argv.append(UInt64(clamping: settings.streamMaxLength))
        argv.append(StreamEntry.version)
        argv.append(settings.node)
        argv.append(run)
        argv.append(UInt64(joins.count))
        argv.append(UInt64(leaves.count))
        for id in joins { argv.append(id) }
        for id in leaves { argv.append(id) }
        for change in changes {
            switch change {
            case .claim(let id, let session):
                argv.append("c")
                argv.append(session.seq)
                argv.append(session.sinceMS)
                argv.append(id)
                argv.append(session.peer)
            case .release(let entry, let online):
                argv.append("r")
                argv.append(online)
                argv.append(entry, isShort: true)
            case .entry(let entry):
                let isShort = entry.isShort(for: settings.node)
                argv.append(isShort ? "e" : "E")
                argv.append(entry, isShort: isShort)
            }
        }
        sendArgv(then: .turn(changes, joins: joins, leaves: leaves), script: .turn)
    }

    /// The stream entry a change makes (kept when the link went down before it was sent or answered).
    func entry(of change: Change) -> StreamEntry {
        switch change {
        case .claim(let id, let session):
            StreamEntry(
                event: "online", node: settings.node, seq: session.seq, timeMS: session.sinceMS, id: id,
                peer: session.peer)
        case .release(let entry, _), .entry(let entry): entry
        }
    }

    /// The `turn` call's answer: 0, or notes on the unusual changes (Script.turn). Unanswered (the
    /// connection ended), the releases' entries are kept, as a `release`'s are.
    func turned(_ changes: ArraySlice<Change>, _ reply: RedisValue?) {
        guard let reply else {
            for case .release(let entry, _) in changes { keep(entry) }
            return
        }
        if case .integer(0) = reply { return }
        guard let notes = reply.elements, notes.count % 2 == 0 else { return unexpected("turn", reply) }
        for at in stride(from: 0, to: notes.count, by: 2) {
            guard let index = notes[at].integer, index >= 0, index <= changes.count else {
                unexpected("turn", notes[at])
                continue
            }
            let note = notes[at + 1]
            guard index > 0 else {
                status.badReplies += 1
                logger.warning("cluster: \(keys.events) is not a stream; \(changes.count) events skipped")
                continue
            }
            switch changes[changes.startIndex + Int(index) - 1] {
            case .claim(let id, _): claimed(id, note)
            case .release(let entry, _) where note.integer == -2: wrongType(entry.id)
            case .release(let entry, _): unexpected("release \(entry.id)", note)
            case .entry: unexpected("turn", note)
            }
        }
    }

    /// One SADD (`isMember`) or SREM of the turn's ids that joined or left this node's set, per
    /// `idsPerCommand` ids.
    private func sendMembership(_ isMember: Bool) {
        var ids = 0
        for (id, joined) in outbox.membership where joined == isMember {
            if ids == 0 {
                argv.removeAll()
                argv.append(isMember ? "SADD" : "SREM")
                argv.append(idsKey)
            }
            argv.append(id)
            ids += 1
            if ids == Self.idsPerCommand {
                sendArgv(then: .nothing, script: nil)
                ids = 0
            }
        }
        if ids > 0 { sendArgv(then: .nothing, script: nil) }
    }

    /// One `append` call of `entries`, all short for this node or none (`StreamEntry.isShort`).
    func sendAppend(_ entries: ArraySlice<StreamEntry>) {
        guard let first = entries.first else { return }
        let isShort = first.isShort(for: settings.node)
        begin(.append, keyCount: 1)
        argv.append(keys.events)
        argv.append(UInt64(clamping: settings.streamMaxLength))
        argv.append(StreamEntry.version)
        argv.append(isShort ? settings.node : "")
        for entry in entries { argv.append(entry, isShort: isShort) }
        sendArgv(then: .append(entries), script: .append)
    }

    func appended(_ count: Int, _ reply: RedisValue?) {
        guard let reply else { return }
        switch reply {
        case .integer(-2):
            status.badReplies += 1
            logger.warning("cluster: \(keys.events) is not a stream; \(count) events skipped")
        case .integer(let added) where added == Int64(count): break
        default: unexpected("append to \(keys.events)", reply)
        }
    }
}

extension Argv {
    /// `entry`'s values for the `append` script, in its order (Script.append): event, seq, time_ms, id,
    /// peer, reason, duration_ms — then, unless `isShort` (`StreamEntry.isShort`: the node's own plain
    /// entry, its node sent once per call), node, by, count. The one place that order is written.
    mutating func append(_ entry: StreamEntry, isShort: Bool) {
        append(entry.event)
        append(entry.seq)
        append(entry.timeMS)
        append(entry.id)
        append(entry.peer)
        append(entry.reason)
        append(entry.durationMS)
        guard !isShort else { return }
        append(entry.node)
        append(entry.by)
        append(entry.count)
    }
}

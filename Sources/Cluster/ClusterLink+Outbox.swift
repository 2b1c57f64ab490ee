// What a loop turn's presence events leave for the end of the turn: their stream entries, sent as one
// `append` script call (the stream is one key, so one slot), and each id's last change in this node's
// set, sent as one SADD and one SREM. Only the record's own script goes out per event (every client's
// record is a slot of its own). See docs/design.md, "Scripts and round trips".
import ClusterSchema
import Hiredis

struct Outbox {
    /// Stream entries in the order they were made.
    var entries: [StreamEntry] = []
    /// Each id's last change this turn: true when it joined this node's set, false when it left it.
    var membership: [String: Bool] = [:]
}

extension ClusterLink {
    /// Entries per `append` call: a reconnect's buffered backlog goes out in calls this long, so one
    /// script does not hold Redis for long.
    static let entriesPerAppend = 256
    /// Ids per SADD/SREM (a mass reap's offline events can all land in one turn).
    static let idsPerCommand = 1_000

    func join(_ id: String) { outbox.membership[id] = true }
    func leave(_ id: String) { outbox.membership[id] = false }

    /// The end of a loop turn, before the connections write: the turn's set changes and entries go out.
    /// When the link went down meanwhile the entries are kept; the set is rewritten by the reconcile.
    func sendOutbox() {
        guard !outbox.entries.isEmpty || !outbox.membership.isEmpty else { return }
        let entries = outbox.entries
        outbox.entries.removeAll(keepingCapacity: true)
        // The set changes are read in place and cleared after; the `append` calls keep slices of
        // `entries` until they are answered (to send them again on NOSCRIPT).
        defer { outbox.membership.removeAll(keepingCapacity: true) }
        guard isSending else {
            for entry in entries { keep(entry) }
            return
        }
        sendMembership(true)
        sendMembership(false)
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

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
        let membership = outbox.membership
        outbox.entries.removeAll(keepingCapacity: true)
        outbox.membership.removeAll(keepingCapacity: true)
        guard isSending else {
            for entry in entries { keep(entry) }
            return
        }
        var joined: [String] = []
        var left: [String] = []
        for (id, isMember) in membership {
            if isMember { joined.append(id) } else { left.append(id) }
        }
        for (verb, ids) in [("SADD", joined), ("SREM", left)] {
            for start in stride(from: 0, to: ids.count, by: Self.idsPerCommand) {
                send([verb, keys.ids(settings.node)] + ids[start..<min(start + Self.idsPerCommand, ids.count)])
            }
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
            let chunk = entries[start..<end]
            var words = call(.append, keyCount: 1, capacity: 4 + (isShort ? 7 : 10) * chunk.count)
            words.append(keys.events)
            words.append(String(settings.streamMaxLength))
            words.append(StreamEntry.version)
            words.append(isShort ? settings.node : "")
            for entry in chunk {
                if isShort { entry.appendShortArguments(to: &words) } else { entry.appendArguments(to: &words) }
            }
            send(words, then: .append(chunk.count), script: .append)
            start = end
        }
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

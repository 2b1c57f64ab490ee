// Presence events into Redis. Each event's commands go out pipelined, without waiting for an answer
// before the next event. On a single Redis (`batchesTurns`) a loop turn's claims, releases, set
// changes and stream entries all go in one `turn` script call at its end (ClusterLink+Outbox): one
// round trip per event, offline included (the script writes `offline` or `replaced` itself). On a
// Redis Cluster, where one script may touch one slot only: online = claim script (one round trip);
// offline = release script, then the stream entry once the script said whether the id is really gone
// (two round trips); the set changes and the stream entries of a loop turn go out together at its end.
// While the link is not up, only the stream entries are kept (bounded); the reconcile that follows
// the reconnect republishes the presence itself from `held`.
import ClusterSchema
import ControlProtocol
import Hiredis

extension ClusterLink {
    /// A presence event, on the loop's thread (the supervisor drained it from the workers' mailbox).
    /// Events arrive from several workers out of order; the feed (no grace) puts them back in seq order.
    public func receive(_ event: PresenceEvent) {
        // The usual event comes in order: no array of one to make.
        if feed.takeInOrder(event) { return apply(event) }
        for ordered in feed.receive(event, now: loop.now) { apply(ordered) }
        rearmFeed()
    }

    func feedExpired() {
        feedArmedAt = nil
        for ordered in feed.expire(now: loop.now) { apply(ordered) }
        rearmFeed()
    }

    private func rearmFeed() {
        guard let next = feed.nextDeadline else { return }
        if let armed = feedArmedAt, armed <= next { return }
        feedArmedAt = next
        _ = loop.arm(timers.feed, at: next)
    }

    var isSending: Bool { status.state == .up || status.state == .reconciling }

    private func apply(_ event: PresenceEvent) {
        switch event.kind {
        case .online:
            let session = Held(seq: event.seq, peer: event.peer, sinceMS: event.timeMS)
            held[event.id] = session
            guard isSending else { return keep(entry(event)) }
            if batchesTurns {
                outbox.changes.append(.claim(event.id, session))
                return join(event.id)
            }
            claim(event.id, session)
            append(entry(event))
            return
        case .offline:
            // One hash of the id for the look-up and the removal; `evicting` is nearly always empty.
            guard let index = held.index(forKey: event.id), held.values[index].seq < event.seq else {
                return append(entry(event))
            }
            let mine = held.remove(at: index).value
            if !evicting.isEmpty { evicting[event.id] = nil }
            guard isSending else { return keep(entry(event)) }
            return release(event, online: mine.seq)
        default:
            break
        }
        // replaced, and kinds added later (restarted), go to the stream as they are. Our own takeover
        // (a newer local session holds the id) leaves the record alone; a session ended because another
        // node took its id over also leaves this node's set.
        if event.kind == .replaced, let evicted = evicting[event.id], let mine = held[event.id], mine.seq == evicted {
            held[event.id] = nil
            evicting[event.id] = nil
            if isSending { leave(event.id) }
        }
        append(entry(event))
    }

    /// Writes the record; when another node held the id, the script has told it to let go.
    func claim(_ id: String, _ session: Held) {
        sendClaim(id, session)
        join(id)
    }

    /// The claim's command, written straight into `argv` (this runs for every online): the key, the
    /// record's values (as `PresenceRecord.values` orders them).
    func sendClaim(_ id: String, _ session: Held) {
        begin(.claim, keyCount: 1)
        writeClientKey(id)
        argv.append(settings.node)
        writeSession(session.seq)
        argv.append(session.peer)
        argv.append(session.sinceMS)
        argv.append(session.seq)
        sendArgv(then: .claim(id, session), script: .claim)
    }

    /// `keys.client(id)` as one word of `argv`.
    func writeClientKey(_ id: String) {
        argv.write(keys.clientHead)
        argv.write(id)
        argv.write(ClusterKeys.clientTail)
        argv.endWord()
    }

    /// `PresenceRecord.session(run:seq:)` of this run as one word of `argv`.
    private func writeSession(_ seq: UInt64) {
        argv.write(run)
        argv.write(".")
        argv.write(seq)
        argv.endWord()
    }

    func claimed(_ id: String, _ reply: RedisValue?) {
        guard let reply else { return }
        switch reply {
        case .integer(0): break
        case .integer(-2): wrongType(id)
        case .string, .status:
            logger.info(
                "cluster: took \(id) over from node \(reply.text ?? "")",
                metadata: ["event": "takeover", "client.id": "\(id)"])
        default: unexpected("claim \(id)", reply)
        }
    }

    /// Compare-and-delete; the stream then says `offline` only if the id is really gone from the
    /// cluster, and `replaced` if another node's session holds it.
    private func release(_ event: PresenceEvent, online: UInt64) {
        if batchesTurns {
            outbox.changes.append(.release(entry(event), online: online))
        } else {
            sendRelease(entry(event), online: online)
        }
        leave(event.id)
    }

    /// The release's command: the key and the session (of this run and the online's seq).
    func sendRelease(_ entry: StreamEntry, online: UInt64) {
        begin(.release, keyCount: 1)
        writeClientKey(entry.id)
        writeSession(online)
        sendArgv(then: .release(entry, online: online), script: .release)
    }

    func released(_ entry: StreamEntry, _ reply: RedisValue?) {
        guard let reply else { return keep(entry) }
        var told = entry
        switch reply {
        case .integer(1): break
        case .integer(0): told.event = "replaced"
        case .integer(-2): wrongType(entry.id)
        default: unexpected("release \(entry.id)", reply)
        }
        append(told)
    }

    /// A message on this node's takeover channel: "<id> <session>". Ends that session if it is still
    /// the one held; a later local session of the same id is not touched.
    func takeoverMessage(_ reply: RedisValue) {
        guard let parts = reply.elements, parts.count == 3, parts[0].text == "message" else {
            if reply.elements?.first?.text != "subscribe" { unexpected("takeover subscription", reply) }
            return
        }
        guard let payload = parts[2].text else { return unexpected("takeover message", parts[2]) }
        let words = payload.split(separator: " ", maxSplits: 1).map(String.init)
        guard words.count == 2 else {
            status.badReplies += 1
            logger.warning("cluster: malformed takeover message \"\(payload.prefix(100))\"; skipped")
            return
        }
        endTakenOver(words[0], session: words[1])
    }

    /// Another node holds `id` now: end our session of it (if it is `session`) as `replaced`.
    func endTakenOver(_ id: String, session: String) {
        guard let mine = held[id], PresenceRecord.session(run: run, seq: mine.seq) == session, evicting[id] != mine.seq
        else { return }
        evicting[id] = mine.seq
        status.takeovers += 1
        evict(id, mine.seq)
    }

    func entry(_ event: PresenceEvent) -> StreamEntry {
        StreamEntry(
            event: event.kind.rawValue, node: settings.node, seq: event.seq, timeMS: event.timeMS, id: event.id,
            peer: event.peer, reason: event.reason ?? "", durationMS: event.durationMS)
    }

    /// To the stream (capped at about `stream_maxlen` entries) at the end of this loop turn, with the
    /// turn's other entries in one `append` call (or with its other changes in one `turn` call).
    func append(_ entry: StreamEntry) {
        guard isSending else { return keep(entry) }
        if batchesTurns { outbox.changes.append(.entry(entry)) } else { outbox.entries.append(entry) }
    }

    /// Keeps a stream entry for later; past `buffer` it is dropped and counted (one log line per outage).
    func keep(_ entry: StreamEntry) {
        guard pending.count < settings.buffer else {
            status.dropped += 1
            if !isDropLogged {
                isDropLogged = true
                logger.error(
                    "cluster: event buffer full (\(settings.buffer)); dropping events until Redis is back (counted in heartbeatd_cluster_events_dropped_total)",
                    metadata: ["event": "cluster-dropped"])
            }
            return
        }
        pending.append(entry)
    }

    func wrongType(_ id: String) {
        status.badReplies += 1
        logger.warning("cluster: \(keys.client(id)) is not a hash; skipped", metadata: ["client.id": "\(id)"])
    }
}

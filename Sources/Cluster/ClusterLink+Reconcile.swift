// After a (re)connect, a lease taken afresh or a resubscription: make Redis say what this node
// really holds. Each held session is re-announced (without taking over: if another node holds the
// id now, our session is the stale one and ends as `replaced`); every id in this node's set that it
// no longer holds loses its record (if the record still names this node), with an `offline`.
import ClusterSchema
import Hiredis
import Posix

extension ClusterLink {
    func reconcile(because reason: String) {
        status.state = .reconciling
        status.reconciles += 1
        var written = 0
        var removed = 0
        var takenOver = 0
        let snapshot = held
        for (id, session) in snapshot {
            let record = PresenceRecord(
                node: settings.node, session: PresenceRecord.session(run: run, seq: session.seq), peer: session.peer,
                sinceMS: session.sinceMS,
                seq: session.seq)
            run(.reannounce, keys: [keys.client(id)], record.fields) { [unowned self] reply in
                guard let reply else { return }
                switch reply.integer {
                case 0: break
                case 1:
                    written += 1
                    append(
                        StreamEntry(
                            event: "online", node: settings.node, seq: session.seq, timeMS: session.sinceMS, id: id,
                            peer: session.peer, reason: "reannounced"))
                case -1:
                    takenOver += 1
                    endTakenOver(id, session: PresenceRecord.session(run: run, seq: session.seq))
                case -2: wrongType(id)
                default: unexpected("reannounce \(id)", reply)
                }
            }
        }
        for chunk in stride(from: 0, to: snapshot.count, by: 1_000) {
            let ids = Array(snapshot.keys.dropFirst(chunk).prefix(1_000))
            send(["SADD", keys.ids(settings.node)] + ids)
        }
        send(["SMEMBERS", keys.ids(settings.node)]) { [unowned self] reply in
            guard let reply else { return }
            guard let members = reply.elements else { return unexpected("SMEMBERS own ids", reply) }
            for member in members {
                guard let id = member.text, held[id] == nil else { continue }
                run(.drop, keys: [keys.client(id)], [settings.node]) { [unowned self] reply in
                    guard let reply else { return }
                    if reply.integer == -2 { return wrongType(id) }
                    guard let parts = reply.elements, parts.count == 3 else { return }
                    removed += 1
                    append(
                        StreamEntry(
                            event: "offline", node: settings.node, seq: parts[2].text.flatMap(UInt64.init) ?? 0,
                            timeMS: wallNow, id: id, peer: parts[1].text ?? "", reason: "reconciled"))
                }
                send(["SREM", keys.ids(settings.node), id])
            }
            // Follows every reply above.
            send(["PING"]) { [unowned self] reply in
                guard reply != nil else { return }
                if status.state == .reconciling { status.state = .up }
                logger.notice(
                    "cluster: reconciled with Redis (\(reason)): \(snapshot.count) sessions held, \(written) re-announced, \(removed) stale records removed, \(takenOver) taken over elsewhere",
                    metadata: ["event": "cluster-reconciled"])
            }
        }
    }

    var wallNow: UInt64 { Clock.wallMilliseconds() }
}

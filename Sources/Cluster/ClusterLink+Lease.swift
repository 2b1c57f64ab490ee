// Once a second: renew this node's lease, look for nodes whose lease expired, and check that Redis
// still answers. A lost node's clients are taken offline by exactly one survivor: the one whose
// `reap` script got the node's reaper lock (SET NX PX), with reason `node-lost`.
import ClusterSchema
import Hiredis

extension ClusterLink {
    func tick() {
        _ = loop.arm(timers.tick, at: loop.now + 1_000_000_000)
        guard !isStopped else { return }
        // hiredis 0.14 has no timeouts: a command unanswered for a whole lease means Redis is stuck.
        if awaitingHead < awaiting.count, loop.now &- awaiting[awaitingHead].sentAt > settings.lease {
            logger.warning(
                "cluster: Redis has not answered for \((loop.now &- awaiting[awaitingHead].sentAt) / 1_000_000) ms; reconnecting",
                metadata: ["event": "cluster-down"])
            commands.close()
            return
        }
        guard commands.isConnected else { return }
        renewLease(isConnecting: false)
        if isSending { lookForLostNodes() }
    }

    var leaseMilliseconds: String { "\(settings.lease / 1_000_000)" }

    /// The lease script: 1 renewed, 0 taken afresh (so Redis may hold stale records: reconcile),
    /// -1 a survivor is still cleaning up after us (wait, keep buffering).
    func renewLease(isConnecting: Bool) {
        let leaseKeys = [keys.lease(settings.node), keys.reaper(settings.node)]
        run(.lease, keys: leaseKeys, ["\(run)", leaseMilliseconds]) { [unowned self] reply in
            guard let reply else { return }
            switch reply.integer {
            case 1:
                hasLease = true
            case 0:
                hasLease = true
                send(["SADD", keys.nodes, settings.node])
                if status.state == .up || status.state == .reconciling {
                    // Connected all along, yet the lease expired (Redis stalled): records may be gone.
                    reconcile(because: "the lease had expired")
                } else {
                    flushPending()
                    reconcile(because: isConnecting ? "connected" : "lease taken again")
                }
            case -1:
                hasLease = false
                if status.state != .leaseWait {
                    logger.warning(
                        "cluster: another node is cleaning up after this one (its lease expired); waiting to rejoin",
                        metadata: ["event": "cluster-lease-wait"])
                }
                status.state = .leaseWait
            default:
                unexpected("lease", reply)
            }
        }
    }

    /// Stream entries kept while the link was down go out first, in their order.
    private func flushPending() {
        status.state = .reconciling
        let entries = pending
        pending = []
        isDropLogged = false
        for entry in entries { append(entry) }
    }

    private func lookForLostNodes() {
        send(["SMEMBERS", keys.nodes]) { [unowned self] reply in
            guard let reply else { return }
            guard let members = reply.elements else { return unexpected("SMEMBERS nodes", reply) }
            for member in members {
                guard let node = member.text, node != settings.node else { continue }
                guard ClusterKeys.isValidName(node) else {
                    status.badReplies += 1
                    continue
                }
                run(.reap, keys: [keys.lease(node), keys.reaper(node)], [settings.node, leaseMilliseconds]) {
                    [unowned self] reply in
                    if reply?.integer == 1 { cleanUp(after: node) }
                }
            }
        }
    }

    /// This node holds `node`'s reaper lock: every record still naming `node` goes, each with an
    /// `offline` (reason node-lost) in the stream, then one `node-lost` entry.
    private func cleanUp(after node: String) {
        logger.warning(
            "cluster: node \(node) lost its lease; taking its clients offline", metadata: ["event": "node-lost"])
        send(["SMEMBERS", keys.ids(node)]) { [unowned self] reply in
            guard let reply else { return }
            guard let members = reply.elements else { return unexpected("SMEMBERS \(keys.ids(node))", reply) }
            var count: UInt64 = 0
            for member in members {
                guard let id = member.text else { continue }
                run(.drop, keys: [keys.client(id)], [node]) { [unowned self] reply in
                    guard let reply else { return }
                    if reply.integer == -2 { return wrongType(id) }
                    guard let parts = reply.elements else { return }
                    guard parts.count == 3, let peer = parts[1].text, let seq = parts[2].text.flatMap(UInt64.init)
                    else { return unexpected("drop \(id)", reply) }
                    count += 1
                    status.nodeLostClients += 1
                    append(
                        StreamEntry(
                            event: "offline", node: node, seq: seq, timeMS: wallNow, id: id, peer: peer,
                            reason: "node-lost", by: settings.node))
                }
            }
            // Replies come in order: this one follows every drop above.
            send(["DEL", keys.ids(node)]) { [unowned self] _ in
                append(
                    StreamEntry(
                        event: "node-lost", node: node, seq: 0, timeMS: wallNow, by: settings.node, count: count))
                send(["SREM", keys.nodes, node])
                send(["DEL", keys.reaper(node)])
                logger.notice(
                    "cluster: node \(node) lost: \(count) clients offline (node-lost)",
                    metadata: ["event": "node-lost", "clients": "\(count)"])
            }
        }
    }
}

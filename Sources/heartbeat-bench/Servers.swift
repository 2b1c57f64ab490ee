// Several servers in one run (`--server a:p,b:p,...`, e.g. the nodes of a cluster): clients are spread
// over them round robin, and with `churn --ids N` a reused id comes back on another node than its last
// one, so a vanished session on one node is taken over from the next (the cluster's cross-node takeover).
import ArgumentParser
import Posix

extension CommonOptions {
    /// The most servers one --server takes: a cluster of a few nodes, not a fleet.
    static let serverLimit = 64

    /// Every --server address, in the order given.
    func serverAddresses() throws -> [SocketAddress] {
        let parts = server.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= Self.serverLimit else {
            throw ValidationError("--server takes at most \(Self.serverLimit) addresses, got \(parts.count)")
        }
        return try parts.map { part in
            guard let address = parseAddress(String(part)) else {
                throw ValidationError(
                    "--server: \"\(part)\" is not a numeric host:port (e.g. 127.0.0.1:7700 or [::1]:7700; several separated by commas)"
                )
            }
            return address
        }
    }
}

extension Fleet {
    /// The server for a connection: round robin over `servers` by `turn` (the client's number in hold,
    /// the node number a churn cycle picked).
    func address(forTurn turn: Int) -> SocketAddress { servers[turn % servers.count] }
}

/// Where churn cycle `cycle` goes when ids are reused: id `cycle % ids`, on a node that moves on by one
/// each time the id comes back, so with two or more servers an id never returns to the node it just left.
func churnTarget(cycle: Int, ids: Int?, servers: Int) -> (idNumber: Int, node: Int) {
    guard let ids else { return (cycle, cycle % servers) }
    let id = cycle % ids
    return (id, (id + cycle / ids) % servers)
}

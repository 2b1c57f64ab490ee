// `[cluster]` translated into what the Cluster module takes: the Redis endpoint, the node's name
// (the host name when the file leaves it empty) and the password from its credential file. Read at
// start only: the link is made once (a reload that changes [cluster] reports it as needing a restart).
import Cluster
import HeartbeatConfig
import Hiredis
import Posix

enum ClusterSetup {
    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// nil when `[cluster] redis` is empty (a single node, as before).
    static func settings(
        _ cluster: Config.Cluster, credentialsDirectory: String? = environment("CREDENTIALS_DIRECTORY")
    ) throws(SetupError) -> ClusterSettings? {
        guard cluster.isEnabled else { return nil }
        let endpoint: RedisEndpoint
        switch RedisEndpoint.parse(cluster.redis) {
        case .success(let parsed): endpoint = parsed
        case .failure(let error): throw SetupError(description: "cluster.redis: \(error)")
        }
        var node = cluster.node
        if node.isEmpty {
            guard let host = hostName(), !host.contains("{"), !host.contains("}") else {
                throw SetupError(description: "cluster.node is empty and the host name cannot serve as one; set it")
            }
            node = host
        }
        return ClusterSettings(
            endpoint: endpoint, node: node, prefix: cluster.prefix, lease: nanosecondsOf(cluster.lease),
            password: try password(cluster, credentialsDirectory: credentialsDirectory),
            streamMaxLength: cluster.streamMaxlen, buffer: cluster.buffer)
    }

    /// The first line of the password file; the file must be a regular file closed to group and others.
    /// With no `password_file` and no credential, Redis is used without AUTH.
    private static func password(
        _ cluster: Config.Cluster, credentialsDirectory: String?
    ) throws(SetupError) -> String? {
        guard let path = cluster.passwordPath(credentialsDirectory: credentialsDirectory) else { return nil }
        let read: [UInt8]?
        do throws(PrivateFile.RefusedError) {
            read = try PrivateFile.read(path, what: "cluster password file", limit: 4_096)
        } catch {
            throw SetupError(description: error.description)
        }
        guard let contents = read else {
            // The credential is optional; an explicit password_file is not.
            if cluster.passwordFile.isEmpty { return nil }
            throw SetupError(description: "cluster.password_file \(path) does not exist or cannot be examined")
        }
        let line = contents.prefix { $0 != 0x0A && $0 != 0x0D }
        guard !line.isEmpty else { throw SetupError(description: "cluster password file \(path) is empty") }
        return String(decoding: line, as: UTF8.self)
    }
}

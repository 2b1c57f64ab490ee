// What the cluster link runs with: built by heartbeatd from `[cluster]` (Settings+Config.swift), in
// the units the link uses (nanoseconds, counts), so this module never sees the config file.
import Hiredis

public struct ClusterSettings: Sendable, Equatable {
    public var endpoint: RedisEndpoint
    /// This node's name: printable ASCII without braces, at most 64 bytes (ClusterKeys.isValidName).
    public var node: String
    public var prefix: String
    /// A node that has not renewed its lease for this long is dead; nanoseconds.
    public var lease: UInt64
    /// From the credential file; nil: no AUTH.
    public var password: String?
    /// The stream's approximate cap (XADD MAXLEN ~).
    public var streamMaxLength: Int
    /// Stream entries kept while Redis is unreachable; past it they are dropped and counted.
    public var buffer: Int

    public init(
        endpoint: RedisEndpoint, node: String, prefix: String, lease: UInt64, password: String?,
        streamMaxLength: Int, buffer: Int
    ) {
        self.endpoint = endpoint
        self.node = node
        self.prefix = prefix
        self.lease = lease
        self.password = password
        self.streamMaxLength = streamMaxLength
        self.buffer = buffer
    }
}

/// The link as `status` and `/metrics` show it.
public struct ClusterStatus: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// No connection; retrying with back-off.
        case down
        /// Connecting, authenticating, loading scripts, taking the lease.
        case connecting
        /// A survivor is cleaning up after this node (its lease had expired); waiting to take it again.
        case leaseWait = "lease-wait"
        /// Re-publishing held sessions and removing records this node no longer holds.
        case reconciling
        case up
    }

    public var state: State = .down
    public var node: String = ""
    /// How long the latest answered command waited for its reply, in ms.
    public var lagMS: UInt64 = 0
    /// Commands sent and not yet answered.
    public var inFlight: Int = 0
    /// Stream entries waiting for the link.
    public var buffered: Int = 0
    /// Stream entries dropped because the buffer was full.
    public var dropped: UInt64 = 0
    public var reconciles: UInt64 = 0
    /// Sessions this node ended because another node took their id over.
    public var takeovers: UInt64 = 0
    /// Clients of lost nodes this node took offline.
    public var nodeLostClients: UInt64 = 0
    /// Replies of an unexpected type or records it could not read, skipped.
    public var badReplies: UInt64 = 0
    public var heldSessions: Int = 0

    public init() {}
}

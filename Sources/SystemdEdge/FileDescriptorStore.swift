// systemd's file descriptor store: descriptors handed to the service manager at stop, given back at
// the next start (only while a restart is queued: a plain stop discards them). heartbeatd keeps its
// listeners, a memfd with the state, and its sessions' sockets in flight in carriers there across
// `systemctl restart`.
import CSystemd
import Posix

public enum FileDescriptorStore {
    /// The kernel passes at most this many descriptors in one message (SCM_MAX_FD).
    public static let batch = 253
    /// Names heartbeatd stores under; anything else passed in is a socket unit's listener. Sessions go
    /// in carriers (`DescriptorCarrier`): systemd 252 compares each stored descriptor with every one
    /// already stored, so one entry per session made a restart quadratic in PID 1. `hb-session`, one
    /// socket per entry, is what earlier versions stored; a successor still takes those back.
    public static let carrierName = "hb-in-flight"
    public static let sessionName = "hb-session"
    public static let listenerName = "hb-listener"
    public static let stateName = "hb-state"

    /// Whether there is a service manager to store with (NOTIFY_SOCKET is set).
    public static var isAvailable: Bool { environment("NOTIFY_SOCKET") != nil }

    /// The store's capacity when systemd says it ($FDSTORE, systemd 254 and later); nil when unknown.
    public static var capacity: Int? { environment("FDSTORE").flatMap { Int($0) } }

    /// Stores `descriptors` under `name`, `batch` per message, with FDPOLL=0 (systemd must not drop a
    /// socket whose peer hung up: the successor reaps it with its reason). Returns how many were sent;
    /// past `FileDescriptorStoreMax=` systemd closes the extra ones itself and logs it.
    /// The corresponding C function is `sd_pid_notify_with_fds(3)`.
    public static func store(_ descriptors: [DescriptorID], name: String) -> Int {
        var sent = 0
        var start = 0
        while start < descriptors.count {
            let chunk = descriptors[start..<min(start + batch, descriptors.count)].map(\.rawValue)
            let result = chunk.withUnsafeBufferPointer { numbers in
                sd_pid_notify_with_fds(
                    0, 0, "FDSTORE=1\nFDNAME=\(name)\nFDPOLL=0", numbers.baseAddress, UInt32(numbers.count))
            }
            if result > 0 { sent += chunk.count }
            start += chunk.count
        }
        return sent
    }

    /// Empties the store of what was stored under `name`. The descriptors came back in LISTEN_FDS and are
    /// this process's now; left in the store, systemd would hold each socket open after we close it: a
    /// reaped session would get no FIN, and a listener the configuration no longer wants would stay in its
    /// SO_REUSEPORT group taking connections nobody accepts. The corresponding C function is `sd_notify(3)`
    /// with `FDSTOREREMOVE=1`.
    public static func remove(name: String) {
        _ = sd_notify(0, "FDSTOREREMOVE=1\nFDNAME=\(name)")
    }

    /// Descriptors systemd passed in LISTEN_FDS, split: heartbeatd's own stored ones by name, and the
    /// rest (a socket unit's listeners). LISTEN_* is unset and every descriptor gets FD_CLOEXEC.
    /// The corresponding C function is `sd_listen_fds_with_names(3)`.
    public static func passed() throws(SystemdError) -> (stored: [String: [DescriptorID]], listeners: [Int32]) {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count >= 0 else {
            throw .callFailed(call: "sd_listen_fds_with_names", errno: Errno(rawValue: -count))
        }
        defer {
            if let names {
                for position in 0..<Int(count) { free(names[position]) }
                free(names)
            }
        }
        var stored: [String: [DescriptorID]] = [:]
        var listeners: [Int32] = []
        for position in 0..<Int(count) {
            let descriptor = SD_LISTEN_FDS_START + Int32(position)
            let name = names?[position].map { String(cString: $0) } ?? ""
            if [carrierName, sessionName, listenerName, stateName].contains(name) {
                stored[name, default: []].append(DescriptorID(number: descriptor))
            } else {
                let result = sd_is_socket(descriptor, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1)
                guard result > 0 else { throw .notListeningStreamSocket(descriptor: descriptor) }
                listeners.append(descriptor)
            }
        }
        return (stored, listeners)
    }
}

// Socket activation: the listening sockets systemd passes in LISTEN_FDS, used instead of binding.
import CSystemd
import Posix

public enum SocketActivation {
    /// The descriptors (3, 4, …) systemd passed, each checked to be a listening `SOCK_STREAM` socket;
    /// empty when the process was not socket-activated. LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are
    /// unset, so child processes do not believe the sockets are theirs, and the descriptors get
    /// FD_CLOEXEC. Any passed descriptor of the wrong kind is an error naming it: serving on some
    /// sockets but not others would hide a broken .socket unit.
    /// The corresponding C functions are `sd_listen_fds(3)` and `sd_is_socket(3)`.
    public static func listeningDescriptors() throws(SystemdError) -> [Int32] {
        let count = sd_listen_fds(1)
        guard count >= 0 else { throw .callFailed(call: "sd_listen_fds", errno: Errno(rawValue: -count)) }
        var descriptors: [Int32] = []
        for descriptor in SD_LISTEN_FDS_START..<SD_LISTEN_FDS_START + count {
            let result = sd_is_socket(descriptor, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1)
            guard result >= 0 else {
                throw .callFailed(call: "sd_is_socket(\(descriptor))", errno: Errno(rawValue: -result))
            }
            guard result > 0 else { throw .notListeningStreamSocket(descriptor: descriptor) }
            descriptors.append(descriptor)
        }
        return descriptors
    }
}

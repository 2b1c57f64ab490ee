// The control socket's file and who may use it: makes the socket at `[control] socket` (taking over a
// stale one, never a served one), accepts, checks each peer's SO_PEERCRED against root, our own uid and
// `[control] group`, and removes the file at the end if it is still ours.
import ControlProtocol
import EventLoop
import HeartbeatConfig
import Logging
import Posix

final class ControlSocket {
    private let loop: EventLoop
    private let logger: Logger
    private var listener: Socket?
    private var path = ""
    private var fileIdentity: FileIdentity?
    private var access = ControlAccess(ownUID: Accounts.effectiveUserID(), groupID: nil, groupName: "")
    /// Gets each admitted connection with its peer's credentials.
    var onAdmit: (consuming Socket, PeerCredentials) -> Void = { socket, _ in socket.close() }

    private let pause: AcceptPause

    init(loop: EventLoop, logger: Logger) {
        self.loop = loop
        self.logger = logger
        pause = AcceptPause(loop: loop)
    }

    /// Makes the socket at `control.socket`. A failure is logged and the daemon runs on without a
    /// control socket: serving heartbeats matters more than being asked about them.
    func open(_ control: Config.Control) {
        guard !control.socket.isEmpty else {
            logger.info("control socket disabled ([control] socket = \"\")")
            return
        }
        path = control.socket
        if !control.group.isEmpty {
            if let gid = Accounts.groupID(named: control.group) {
                access = ControlAccess(ownUID: access.ownUID, groupID: gid, groupName: control.group)
            } else {
                logger.error(
                    "control.group: there is no group named \(control.group); the control socket admits only root and uid \(access.ownUID)"
                )
            }
        }
        do {
            try makeSocket()
        } catch {
            logger.error("cannot make the control socket at \(path): \(error); running without one")
            return
        }
        let group = access.groupID == nil ? "" : " group \(access.groupName)"
        logger.notice("control socket at \(path) (mode 0660\(group))")
    }

    private func makeSocket() throws(ControlSetupError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty, FileSystem.kind(of: directory) == nil {
            do { try FileSystem.makeDirectories(directory, mode: 0o755) } catch { throw .system(error) }
        }
        switch FileSystem.kind(of: path) {
        case nil:
            break
        case .socket:
            // A socket nobody answers on is left by a daemon that died; one that answers belongs to a
            // daemon still running, and taking it over would cut its operators off.
            guard !Socket.isUnixSocketServed(at: path) else { throw .inUse }
            do { try FileSystem.remove(path) } catch { throw .system(error) }
        case .directory, .other:
            throw .notASocket
        }
        do throws(SystemError) {
            let socket = try Socket.listenUnix(at: path)
            do throws(SystemError) {
                try FileSystem.setMode(path, 0o660)
                if let gid = access.groupID { try FileSystem.setGroup(path, gid) }
                let acceptHandler = loop.addHandler { [unowned self] _, _ in self.acceptReady() }
                try loop.register(socket.id, interest: .readable, handler: acceptHandler)
            } catch {
                socket.close()
                try? FileSystem.remove(path)
                throw error
            }
            fileIdentity = FileSystem.identity(of: path)
            listener = .some(socket)
        } catch {
            throw .system(error)
        }
    }

    /// Stops listening and removes the socket file if it is still ours.
    func close() {
        guard let listener = listener.take() else { return }
        pause.forget(listener.id)
        loop.unregister(listener.id)
        listener.close()
        if let fileIdentity, FileSystem.identity(of: path) == fileIdentity { try? FileSystem.remove(path) }
    }

    /// One error line, sent without waiting (an empty socket buffer takes it), then close.
    static func refuse(_ socket: consuming Socket, _ error: ControlError) {
        let line = Array(error.answer.line.utf8)
        _ = line.withUnsafeBytes { bytes in try? socket.send(bytes) }
        socket.shutdownWrite()
        socket.close()
    }

    private func acceptReady() {
        while true {
            let accepted: Socket?
            do {
                accepted = try listener?.acceptUnix() ?? nil
            } catch {
                pause.sideListenerFailed(error, listener: listener?.id, what: "control", logger: logger)
                return
            }
            guard let socket = accepted else { return }
            admit(socket)
        }
    }

    private func admit(_ socket: consuming Socket) {
        let peer: PeerCredentials
        do {
            peer = try socket.peerCredentials()
        } catch {
            logger.warning("control: cannot read the peer's credentials: \(error)")
            socket.close()
            return
        }
        guard access.admits(peer) else {
            logger.warning(
                "control: refused uid \(peer.uid) (pid \(peer.pid)): not root, not uid \(access.ownUID)\(access.groupID == nil ? "" : ", not in group \(access.groupName)")"
            )
            Self.refuse(socket, ControlError.permissionDenied(access.refusal(peer)))
            return
        }
        onAdmit(socket, peer)
    }
}

/// Who may use the control socket: root, the daemon's own user, and members of `[control] group`
/// (its id is the peer's primary group, or the group database lists the peer's user in it).
struct ControlAccess {
    let ownUID: UInt32
    let groupID: UInt32?
    let groupName: String

    func admits(_ peer: PeerCredentials) -> Bool {
        if peer.uid == 0 || peer.uid == ownUID { return true }
        guard let groupID else { return false }
        if peer.gid == groupID { return true }
        guard let user = Accounts.userName(of: peer.uid) else { return false }
        return Accounts.groups(ofUser: user, primary: peer.gid).contains(groupID)
    }

    func refusal(_ peer: PeerCredentials) -> String {
        let group = groupID == nil ? "" : " and members of group \(groupName)"
        return "uid \(peer.uid) may not use the control socket: only root, uid \(ownUID)\(group) may"
    }
}

/// Why the control socket could not be made.
enum ControlSetupError: Error, CustomStringConvertible {
    case inUse
    case notASocket
    case system(SystemError)

    var description: String {
        switch self {
        case .inUse: "another process is serving it"
        case .notASocket: "the path exists and is not a socket"
        case .system(let error): "\(error)"
        }
    }
}

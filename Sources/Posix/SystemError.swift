// Errors from the kernel, as values: the call's name and a typed errno. Raw Int32 errno values stop here.
import Glibc

/// An errno value with readable names for the ones heartbeatd reacts to.
public struct Errno: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let connectionReset = Errno(rawValue: ECONNRESET)
    public static let connectionAborted = Errno(rawValue: ECONNABORTED)
    public static let brokenPipe = Errno(rawValue: EPIPE)
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    public static let hostUnreachable = Errno(rawValue: EHOSTUNREACH)
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    public static let tooManyOpenFilesInSystem = Errno(rawValue: ENFILE)
    public static let noBufferSpace = Errno(rawValue: ENOBUFS)
    public static let outOfMemory = Errno(rawValue: ENOMEM)
    public static let addressInUse = Errno(rawValue: EADDRINUSE)
    public static let addressNotAvailable = Errno(rawValue: EADDRNOTAVAIL)
    public static let permissionDenied = Errno(rawValue: EACCES)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let noSuchEntry = Errno(rawValue: ENOENT)
    public static let badDescriptor = Errno(rawValue: EBADF)
    public static let notConnected = Errno(rawValue: ENOTCONN)
    public static let connectionRefused = Errno(rawValue: ECONNREFUSED)

    /// The symbolic name where heartbeatd knows it (for logs and metrics labels), else "errno N".
    public var name: String {
        switch rawValue {
        case EINTR: "EINTR"
        case EAGAIN: "EAGAIN"
        case ECONNRESET: "ECONNRESET"
        case ECONNABORTED: "ECONNABORTED"
        case EPIPE: "EPIPE"
        case ETIMEDOUT: "ETIMEDOUT"
        case EHOSTUNREACH: "EHOSTUNREACH"
        case EMFILE: "EMFILE"
        case ENFILE: "ENFILE"
        case ENOBUFS: "ENOBUFS"
        case ENOMEM: "ENOMEM"
        case EADDRINUSE: "EADDRINUSE"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case EACCES: "EACCES"
        case EINVAL: "EINVAL"
        case EBADF: "EBADF"
        case ENOTCONN: "ENOTCONN"
        case EPERM: "EPERM"
        case EPROTO: "EPROTO"
        case ENOENT: "ENOENT"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EFBIG: "EFBIG"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ECONNREFUSED: "ECONNREFUSED"
        default: "errno \(rawValue)"
        }
    }

    public var description: String {
        "\(name) (\(String(cString: strerror(rawValue))))"
    }

    /// The calling thread's errno right now; read it immediately after the failing call.
    static var current: Errno { Errno(rawValue: errno) }
}

/// A failed system call: which call, and why.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var call: String
    public var errno: Errno
    public init(call: String, errno: Errno) {
        self.call = call
        self.errno = errno
    }
    public var description: String { "\(call): \(errno)" }
}

// The one place tests spell an AF_UNIX address: a path, or "@name" in the abstract namespace as
// NOTIFY_SOCKET writes it, filled into a sockaddr_un for bind or connect.
import Glibc

public struct UnixAddress {
    private var storage = sockaddr_un()
    /// The length to pass with it: the whole struct for a path (NUL-terminated), exactly the name's bytes
    /// for an abstract name, which is every byte up to the length (sd_notify connects with exactly that).
    public let length: socklen_t

    public init(_ address: String) throws {
        var bytes = Array(address.utf8)
        let isAbstract = bytes.first == UInt8(ascii: "@")
        if isAbstract { bytes[0] = 0 }
        storage.sun_family = sa_family_t(AF_UNIX)
        guard bytes.count < MemoryLayout.size(ofValue: storage.sun_path) else {
            throw TestFailure.message("unix socket address too long: \(address)")
        }
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        length =
            isAbstract
            ? socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
            : socklen_t(MemoryLayout<sockaddr_un>.size)
    }

    /// Calls bind or connect (`call`) with the address as a `sockaddr` pointer and its length.
    public func withSocketAddress<Result>(_ call: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafePointer(to: storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call($0, length) }
        }
    }
}

// The machine's host name, the default name of a cluster node. The corresponding C function is
// `gethostname(2)`.
import Glibc

/// The host name, or nil when the kernel has none to give.
public func hostName() -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? nil : name
}

// The libcrypto calls DeviceKeys and the coming challenge nonces need, each behind one small function:
// HMAC-SHA256, a constant-time compare and the kernel-seeded random generator.
import COpenSSL

public enum HMACSHA256 {
    /// 32 bytes.
    public static let codeLength = 32

    /// HMAC-SHA256(key, message). The corresponding C function is `HMAC(3)` with `EVP_sha256`.
    public static func code(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var code = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { key in
            message.withUnsafeBufferPointer { message in
                HMAC(
                    EVP_sha256(), key.baseAddress, Int32(key.count), message.baseAddress, message.count, &code,
                    &length
                )
            }
        }
        // HMAC fails only without memory or with a broken digest table: nothing a caller could recover from.
        precondition(result != nil && length == codeLength, "HMAC-SHA256 failed in libcrypto")
        return Array(code[..<codeLength])
    }
}

/// Whether `a` and `b` hold the same bytes, in time that depends only on their length.
/// The corresponding C function is `CRYPTO_memcmp(3)`.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { a in
        b.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
    }
}

public enum RandomBytes {
    /// `count` bytes from OpenSSL's CSPRNG (seeded from the kernel), e.g. a challenge nonce.
    /// The corresponding C function is `RAND_bytes(3)`.
    public static func make(count: Int) throws(DeviceKeysError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let result = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard result == 1 else { throw .randomUnavailable }
        return bytes
    }
}

public enum DeviceKeysError: Error, Equatable, CustomStringConvertible {
    /// RAND_bytes could not seed itself (no entropy source): no nonce is better than a guessable one.
    case randomUnavailable

    public var description: String {
        switch self {
        case .randomUnavailable: "libcrypto's random generator is not seeded (RAND_bytes failed)"
        }
    }
}

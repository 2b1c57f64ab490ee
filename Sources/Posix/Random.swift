// getrandom(2): bytes from the kernel's CSPRNG, for the challenge nonces a worker sends.
import CLinux
import Glibc

public enum Random {
    /// Fills `count` bytes. Without GRND_NONBLOCK: it blocks only before the kernel's pool is first
    /// initialised at boot, never afterwards. The corresponding C function is `getrandom(2)`.
    public static func bytes(count: Int) throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = try bytes.withUnsafeMutableBytes { buffer in
                Result { () throws(SystemError) in
                    try retrying("getrandom") { CLinux.getrandom(buffer.baseAddress! + filled, count - filled, 0) }
                }
            }.get()
            filled += got
        }
        return bytes
    }
}

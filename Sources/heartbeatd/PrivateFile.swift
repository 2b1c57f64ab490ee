// A file only its owner may read (the auth secret, the Redis password): a regular file, closed to group
// and others, read whole up to a limit. The one place heartbeatd checks that before it uses the bytes.
import Posix

enum PrivateFile {
    struct RefusedError: Error, CustomStringConvertible {
        let description: String
    }

    /// The bytes of `path`, or nil when it does not exist or cannot be examined. `what` names the file in
    /// errors ("secret file"). The mode is checked on the file a symlink points to: that is what is read;
    /// the file's directory belongs to the operator, so the gap between the check and the read is theirs.
    static func read(_ path: String, what: String, limit: Int) throws(RefusedError) -> [UInt8]? {
        guard let (isRegular, mode) = FileSystem.regularFileMode(of: path) else { return nil }
        guard isRegular else { throw RefusedError(description: "\(what) \(path) is not a regular file") }
        guard mode & 0o077 == 0 else {
            throw RefusedError(
                description: """
                    \(what) \(path) is open to group or others (mode \(octal(mode))); \
                    refusing to use it: run chmod 600 \(path)
                    """)
        }
        do throws(SystemError) {
            return try FileSystem.read(path, limit: limit)
        } catch {
            throw RefusedError(description: "\(what) \(path): cannot read: \(error.errno.meaning)")
        }
    }

    private static func octal(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

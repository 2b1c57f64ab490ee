// Whether stderr is connected to journald: systemd sets JOURNAL_STREAM to the "<device>:<inode>" of the
// stream it connected, and the variable survives into children whose stderr points elsewhere, so only
// a match with fstat(2) of descriptor 2 counts.
import Posix

public enum JournalStream {
    /// True when JOURNAL_STREAM names the file that descriptor 2 is right now.
    public static func isStandardErrorJournal() -> Bool {
        guard let text = environment("JOURNAL_STREAM"),
            let journal = identity(parsing: text),
            let standardError = FileIdentity.ofStandardError()
        else { return false }
        return journal == standardError
    }

    /// "<device>:<inode>", both decimal, as systemd writes them.
    static func identity(parsing text: String) -> FileIdentity? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return FileIdentity(device: device, inode: inode)
    }
}

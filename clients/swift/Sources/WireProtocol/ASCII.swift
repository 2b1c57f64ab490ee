// The byte values and byte classes the protocol is written in, kept in one place so that the
// scanners in Framing, Parser and Reply read as words rather than hex.

enum ASCII {
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let equals: UInt8 = 0x3D
    static let questionMark: UInt8 = 0x3F
    static let zero: UInt8 = 0x30

    /// What line content may hold: 0x20 (space) through 0x7E (`~`).
    static func isPrintable(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte <= 0x7E
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= 0x30 && byte <= 0x39
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
    }

    /// Whether `bytes[range]` spells `word` exactly (case-sensitive). Allocates nothing.
    static func matches(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ word: StaticString) -> Bool {
        word.withUTF8Buffer { spelling in
            guard spelling.count == range.count else { return false }
            var offset = 0
            while offset < spelling.count {
                if bytes[range.lowerBound + offset] != spelling[offset] { return false }
                offset += 1
            }
            return true
        }
    }

    /// `'x'` for a printable byte, `0x09` for any other: how error details name a byte.
    static func describe(_ byte: UInt8) -> String {
        isPrintable(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : hex(byte)
    }

    /// `0x0D`: two upper-case hex digits, so details read the same for every byte.
    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return byte < 0x10 ? "0x0" + digits : "0x" + digits
    }
}

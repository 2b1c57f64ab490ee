// Decimal numbers as the protocol writes them (`interval=10000`, `PING 1712345678901`), formatted and
// read without going through String, so the heartbeat path on either side allocates nothing.

public enum Digits {
    /// Appends `value` in decimal, most significant digit first, no sign, no leading zeros.
    public static func append(_ value: UInt64, to out: inout [UInt8]) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            out.append(ASCII.zero + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    /// The number `bytes[range]` spells: one or more ASCII digits and nothing else. Nil for an empty
    /// range, any other byte, or a value beyond `UInt64.max`.
    public static func value(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt64? {
        guard !range.isEmpty else { return nil }
        var value: UInt64 = 0
        for index in range {
            let byte = bytes[index]
            guard ASCII.isDigit(byte) else { return nil }
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(UInt64(byte - ASCII.zero))
            guard !overflow, !carry else { return nil }
            value = sum
        }
        return value
    }
}

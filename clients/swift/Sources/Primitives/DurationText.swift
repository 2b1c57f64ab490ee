// Durations as the config file and every command-line flag write them: a whole amount and one unit
// ("250ms", "10s", "5m", "1h"). Reading and writing live together so that durationText always writes
// what parseDuration reads back.

private let units: [(name: String, milliseconds: Int64)] = [
    ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1),
]

/// Reads "250ms", "10s", "5m" or "1h": ASCII digits, then one unit, nothing else.
/// Returns nil for a missing or unknown unit, a sign, a fraction, spaces, a compound ("1h30m"),
/// or an amount whose milliseconds do not fit in 64 bits.
public func parseDuration(_ text: String) -> Duration? {
    let digits = text.prefix { $0.asciiValue.map { (0x30...0x39).contains($0) } ?? false }
    let unitName = text.dropFirst(digits.count)
    guard !digits.isEmpty,
        let amount = Int64(digits),
        let unit = units.first(where: { $0.name == unitName })
    else { return nil }
    let (milliseconds, overflow) = amount.multipliedReportingOverflow(by: unit.milliseconds)
    return overflow ? nil : .milliseconds(milliseconds)
}

/// The text parseDuration reads back as `duration`, in the largest unit that divides it exactly
/// (300 s is "5m", 1500 ms stays "1500ms"). Config durations are whole milliseconds; anything finer
/// is dropped.
public func durationText(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    let (wholeMilliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
    if overflow { return "\(seconds)s" }
    let milliseconds = wholeMilliseconds + attoseconds / 1_000_000_000_000_000
    if milliseconds == 0 { return "0s" }
    for unit in units where milliseconds % unit.milliseconds == 0 {
        return "\(milliseconds / unit.milliseconds)\(unit.name)"
    }
    return "\(milliseconds)ms"
}

// Times as the control socket and heartbeatctl show them: wall-clock instants in RFC 3339 UTC with
// milliseconds ("2023-11-14T22:13:20.123Z"), and durations as people read them ("1h 2m", "2.5s").
// Pure arithmetic on milliseconds: the caller reads the clock.

public enum TimeText {
    /// `milliseconds` since the Unix epoch as RFC 3339 in UTC, e.g. "1970-01-01T00:00:00.000Z".
    public static func timestamp(milliseconds: UInt64) -> String {
        let days = Int64(milliseconds / 86_400_000)
        let inDay = milliseconds % 86_400_000
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let hours = inDay / 3_600_000
        let minutes = inDay / 60_000 % 60
        let seconds = inDay / 1_000 % 60
        let millis = inDay % 1_000
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))T"
            + "\(padded(Int64(hours), 2)):\(padded(Int64(minutes), 2)):\(padded(Int64(seconds), 2)).\(padded(Int64(millis), 3))Z"
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01. The calendar repeats every 400
    /// years (146 097 days); counting from 0000-03-01 puts the leap day at the end of each year, so a
    /// month's first day is a linear function of its number (153 days per 5 months from March).
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSinceEpoch + 719_468 // days from 0000-03-01 to 1970-01-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// A duration in at most two units: "850ms", "2.5s", "59s", "3m 20s", "1h 5m", "2d 3h".
    public static func duration(milliseconds: UInt64) -> String {
        if milliseconds < 1_000 { return "\(milliseconds)ms" }
        if milliseconds < 10_000 {
            let tenths = milliseconds / 100
            return tenths % 10 == 0 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s"
        }
        let seconds = milliseconds / 1_000
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3_600 { return twoUnits(seconds / 60, "m", seconds % 60, "s") }
        if seconds < 86_400 { return twoUnits(seconds / 3_600, "h", seconds / 60 % 60, "m") }
        return twoUnits(seconds / 86_400, "d", seconds / 3_600 % 24, "h")
    }

    private static func twoUnits(_ major: UInt64, _ majorUnit: String, _ minor: UInt64, _ minorUnit: String) -> String {
        minor == 0 ? "\(major)\(majorUnit)" : "\(major)\(majorUnit) \(minor)\(minorUnit)"
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

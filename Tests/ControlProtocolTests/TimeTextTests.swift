// TimeText as tables: RFC 3339 timestamps across leap days, centuries and the far future (checked
// against `date -u`), and durations at each unit boundary.
import ControlProtocol
import Testing

@Suite struct TimeTextTests {
    @Test(arguments: [
        (UInt64(0), "1970-01-01T00:00:00.000Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (86_399_999, "1970-01-01T23:59:59.999Z"),
        (68_169_600_000, "1972-02-29T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
        (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
        (4_102_444_799_000, "2099-12-31T23:59:59.000Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func timestamp(milliseconds: UInt64, text: String) {
        #expect(TimeText.timestamp(milliseconds: milliseconds) == text)
    }

    @Test(arguments: [
        (UInt64(0), "0ms"),
        (999, "999ms"),
        (1_000, "1s"),
        (2_540, "2.5s"),
        (9_999, "9.9s"),
        (10_000, "10s"),
        (59_999, "59s"),
        (60_000, "1m"),
        (200_000, "3m 20s"),
        (3_599_000, "59m 59s"),
        (3_600_000, "1h"),
        (3_900_000, "1h 5m"),
        (86_400_000, "1d"),
        (183_600_000, "2d 3h"),
    ])
    func duration(milliseconds: UInt64, text: String) {
        #expect(TimeText.duration(milliseconds: milliseconds) == text)
    }
}

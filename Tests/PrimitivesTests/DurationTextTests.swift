import Primitives
// parseDuration and its inverse, as tables.
import Testing

@Test(arguments: [
    ("250ms", Duration.milliseconds(250)), ("10s", .seconds(10)), ("5m", .seconds(300)),
    ("1h", .seconds(3600)), ("0s", .zero), ("0ms", .zero), ("007s", .seconds(7)),
])
func parsesDurations(text: String, expected: Duration) {
    #expect(parseDuration(text) == expected)
}

@Test(arguments: [
    "", "10", "s", "ms", "-1s", "+1s", "1.5s", "1,5s", " 10s", "10s ", "10 s", "1h30m", "10S", "10sec",
    "1d", "10us", "٣s", "99999999999999999999ms", "9223372036854775807s", "0x10s",
])
func refusesBadDurations(text: String) {
    #expect(parseDuration(text) == nil)
}

@Test(arguments: [
    (Duration.milliseconds(250), "250ms"), (.milliseconds(1500), "1500ms"), (.seconds(10), "10s"),
    (.seconds(90), "90s"), (.seconds(300), "5m"), (.seconds(7200), "2h"), (.zero, "0s"),
    (.seconds(32767), "32767s"),
])
func writesDurationsInTheLargestExactUnit(duration: Duration, text: String) {
    #expect(durationText(duration) == text)
    #expect(parseDuration(text) == duration)
}

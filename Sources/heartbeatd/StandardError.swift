// Messages for the person at the terminal before logging is set up (bad flags, bad config).
import Posix

func printError(_ text: String) {
    var line = text + "\n"
    // Nobody is left to tell when stderr itself fails.
    line.withUTF8 { bytes in try? writeAll(UnsafeRawBufferPointer(bytes), to: 2) }
}

// Messages for the person at the terminal before logging is set up (bad flags, bad config).
import Foundation

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

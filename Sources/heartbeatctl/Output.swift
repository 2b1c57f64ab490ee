// What heartbeatctl prints: straight to the descriptor (no stdio buffer, so `watch` lines reach a
// pipe at once), and aligned columns for people.
import Posix

enum Output {
    static func line(_ text: String) {
        write(text + "\n", to: 1)
    }

    static func line(bytes: [UInt8]) {
        write(bytes + [0x0A], to: 1)
    }

    static func error(_ text: String) {
        write("heartbeatctl: \(text)\n", to: 2)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        write(Array(text.utf8), to: descriptor)
    }

    /// A closed stdout (a pipe whose reader left) ends the tool like any other failed write would.
    private static func write(_ bytes: [UInt8], to descriptor: Int32) {
        _ = bytes.withUnsafeBytes { buffer in try? writeAll(buffer, to: descriptor) }
    }

    /// Rows padded so every column starts at the same place; the last column is not padded.
    static func table(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
    }
}

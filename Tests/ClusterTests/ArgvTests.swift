// The reusable argv the cluster link builds its per-event commands in: words written whole or in
// pieces, numbers in decimal, the buffers growing past their first size, and hiredis's argv form.
import ClusterSchema
import Hiredis
import Testing

@testable import Cluster

@Suite struct ArgvTests {
    @Test func wordsComeBackAsWritten() {
        var argv = Argv()
        argv.append("EVALSHA")
        argv.append(0)
        argv.append(UInt64.max)
        argv.write("b:client:{")
        argv.write("dev-1")
        argv.write("}")
        argv.endWord()
        argv.write(1_764_550_000_000)
        argv.write(".")
        argv.write(41)
        argv.endWord()
        argv.append("")
        argv.append("ünïcödé ✓")
        #expect(
            argv.words == [
                "EVALSHA", "0", "18446744073709551615", "b:client:{dev-1}", "1764550000000.41", "", "ünïcödé ✓",
            ])
        #expect(argv.count == 7)
    }

    @Test func theArgvFormPointsAtEachWord() {
        var argv = Argv()
        for word in ["SADD", "", "ids", "a b"] { argv.append(word) }
        let seen = argv.withArgv { count, words, lengths in
            (0..<Int(count)).map { index in
                let bytes = UnsafeRawBufferPointer(start: words[index], count: lengths[index])
                return String(decoding: bytes, as: UTF8.self)
            }
        }
        #expect(seen == ["SADD", "", "ids", "a b"])
    }

    @Test func buffersGrowAndAreReused() {
        var argv = Argv(bytes: 8, words: 2)
        let long = String(repeating: "x", count: 1_000)
        var expected: [String] = []
        for index in 0..<300 {
            argv.append(UInt64(index))
            argv.append(long)
            expected += [String(index), long]
        }
        #expect(argv.words == expected)
        argv.removeAll()
        #expect(argv.count == 0)
        argv.append("PING")
        #expect(argv.words == ["PING"])
    }
}

/// A stream entry's values in the order the `append` script reads them: seven for a node's own plain
/// entry, ten (node, by, count after the seven) for any other.
@Test func aStreamEntryIsWrittenInTheAppendScriptsOrder() {
    let own = StreamEntry(event: "offline", node: "n1", seq: 9, timeMS: 77, id: "d", peer: "p", reason: "eof")
    var argv = Argv()
    argv.append(own, isShort: true)
    let short = ["offline", "9", "77", "d", "p", "eof", "0"]
    #expect(argv.words == short)
    var cleanedUp = own
    cleanedUp.by = "n2"
    argv.removeAll()
    argv.append(cleanedUp, isShort: false)
    #expect(argv.words == short + ["n1", "n2", "0"], "the seven, then node, by, count")
}

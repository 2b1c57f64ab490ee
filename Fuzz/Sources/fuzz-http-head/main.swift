// libFuzzer target: the bytes a scraper (or anyone who can reach `[metrics] listen`) sends, as the metrics
// endpoint reads them: is the head complete, and which route does its first line take.
import CLibFuzzer
import HTTPHead

libfuzzer_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
    _ = HTTPRequestHead(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

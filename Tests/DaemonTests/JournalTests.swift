import Foundation
import Glibc
// The real heartbeatd writing to a real systemd-journald (Tests/Support/journald-sandbox.sh: journald in
// a private mount namespace): its stderr is a journal stream named by JOURNAL_STREAM, as under systemd,
// so it sends structured entries. They are read back with `journalctl -D DIR -o json CLIENT_ID=…`, and
// deploy/heartbeatd.catalog's texts with `journalctl --root ROOT -x`.
import TestSupport
import Testing

/// The MESSAGE_IDs of Sources/SystemdEdge/MessageID.swift: fixed forever, so written out here.
private let messageIDs = [
    "online": "ad4b732702ea43daa5299e706eacf0f2",
    "offline": "c09e4a18041d499f8ec3937dbf68862e",
    "replaced": "5c970555d91746a1be6f30222537a5a7",
    "overload": "4a8f1dff045b49fe84b356cd36e05545",
    "started": "63ae2115db8346f5a0f571c9ac6453df",
    "stopping": "454004f66d5f4bd5b9774f7d960bef55",
    "reloaded": "7565284ad028475e8996266bfab4e3d1",
    "ready": "bf3292b16b9e446b947522d55be84a9d",
    "reloading": "4d200f7bb66840a5b1f023288efec0f5",
    "auth-failed": "e499d97c39634fae9930fa59bcbb416b",
    "tls-failed": "364513bec0ec4e4e85150cd08f66c1a2",
]

private let canRunJournald =
    geteuid() == 0
    && FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd-journald")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-cat")
    && FileManager.default.fileExists(atPath: "/var/lib/systemd/catalog")

/// The source tree's root, from this file's path.
private let sourceRoot = "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/")

/// Runs `arguments` to the end; returns its status and stdout (stderr goes into the failure message).
private func run(_ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
    let directory = temporaryDirectory()
    let outPath = directory.appendingPathComponent("out").path
    let errPath = directory.appendingPathComponent("err").path
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    try process.run()
    guard await eventually(within: 60, { !process.isRunning }) else {
        process.terminate()
        throw TestFailure.message("\(arguments) did not finish")
    }
    process.waitUntilExit()
    return (
        process.terminationStatus,
        (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    )
}

/// `journalctl -o json` output as one dictionary per entry; byte-array values come back as text.
private func entries(_ json: String) throws -> [[String: String]] {
    try json.split(separator: "\n").map { line in
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return object.compactMapValues { value in
            if let text = value as? String { return text }
            if let bytes = value as? [UInt8] { return String(decoding: bytes, as: UTF8.self) }
            return nil
        }
    }
}

@Suite(
    .enabled(
        if: canRunJournald,
        "needs root, unshare, systemd-cat, /lib/systemd/systemd-journald and /var/lib/systemd/catalog"))
struct JournalTests {
    @Test func eventsReachARealJournaldWithTheirFieldsAndCatalogTexts() async throws {
        // ROOT/var/log/journal is where the sandboxed journald writes; ROOT also holds the catalog, so
        // `journalctl --root ROOT` finds both without touching the host's /usr/lib/systemd/catalog.
        let root = temporaryDirectory().path
        let journal = root + "/var/log/journal"
        let catalogDirectory = root + "/usr/lib/systemd/catalog"
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: catalogDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: sourceRoot + "/deploy/heartbeatd.catalog", toPath: catalogDirectory + "/heartbeatd.catalog")
        let update = try await run(["journalctl", "--root", root, "--update-catalog"])
        try #require(update.status == 0, "journalctl --update-catalog: \(update.errors)")

        let port = try freePort()
        let id = "journal-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let config = try configFile("listen = [\"127.0.0.1:\(port)\"]\n[control]\nsocket = \"\"\n")
        let pidFile = root + "/heartbeatd.pid"
        // systemd-cat connects stdout and stderr to journald's stream socket but, unlike systemd, does
        // not set JOURNAL_STREAM: the wrapper names its stderr's device and inode, then becomes heartbeatd.
        let wrapper = """
            export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2)
            echo $$ > "$1"
            exec "$2" --config "$3"
            """
        let sandbox = ChildProcess()
        sandbox.executableURL = URL(fileURLWithPath: sourceRoot + "/Tests/Support/journald-sandbox.sh")
        sandbox.arguments = [
            journal, "systemd-cat", "-t", "heartbeatd-stream", "bash", "-c", wrapper, "wrapper",
            pidFile, heartbeatdBinary(), config,
        ]
        var environment = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"] {
            environment[key] = nil
        }
        sandbox.environment = environment
        sandbox.standardOutput = FileHandle.nullDevice
        try sandbox.run()
        defer { if sandbox.isRunning { sandbox.terminate() } }

        // A sandboxed journald first, then the daemon: on a loaded machine that can take a while.
        #expect(await eventually(within: 60) { (try? Client(port: port)) != nil })
        let pid = try #require(
            Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))

        let first = try await identifiedClient(id, port: port)
        let second = try await identifiedClient(id, port: port)
        #expect(await first.readLine() == "BYE replaced")
        second.send("BYE\n")
        #expect(await second.readLine() == "BYE bye")
        #expect(await second.isClosedByServer())
        kill(pid, SIGHUP)
        // journald's files are readable while it writes them: wait for the reload's outcome, then stop.
        var isReloaded = false
        for _ in 0..<100 where !isReloaded {
            let found = try await run([
                "journalctl", "-D", journal, "-o", "cat", "--no-pager", "EVENT=reloaded", "_PID=\(pid)",
            ])
            isReloaded = !found.output.isEmpty
            if !isReloaded { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(isReloaded)
        kill(pid, SIGTERM)
        #expect(await eventually(within: 30) { !sandbox.isRunning })
        sandbox.waitUntilExit()
        #expect(sandbox.terminationStatus == 0)

        // The client's entries: online twice, replaced, offline.
        let read = try await run(["journalctl", "-D", journal, "-o", "json", "--no-pager", "CLIENT_ID=\(id)"])
        try #require(read.status == 0, "journalctl: \(read.errors)")
        let clientEntries = try entries(read.output)
        #expect(clientEntries.map { $0["EVENT"] ?? "?" }.sorted() == ["offline", "online", "online", "replaced"])
        for entry in clientEntries {
            let event = entry["EVENT"] ?? "?"
            #expect(entry["MESSAGE_ID"] == messageIDs[event], "\(event)")
            #expect(entry["_TRANSPORT"] == "journal", "\(event): a structured entry, not a stream line")
            #expect(entry["SYSLOG_IDENTIFIER"] == "heartbeatd")
            #expect(entry["PRIORITY"] == "6")
            #expect(entry["CLIENT_ID"] == id)
            #expect(entry["WORKER"] == "0")
            #expect(entry["PEER"]?.hasPrefix("127.0.0.1:") == true)
            #expect(entry["SEQ"].flatMap { UInt64($0) } != nil, "\(event): SEQ")
        }
        let replaced = try #require(clientEntries.first { $0["EVENT"] == "replaced" })
        #expect(replaced["REASON"] == "replaced")
        #expect(replaced["PEER"] == "127.0.0.1:\(first.localPort)")
        #expect(replaced["SESSION_DURATION_MS"].flatMap { UInt64($0) } != nil)
        let offline = try #require(clientEntries.first { $0["EVENT"] == "offline" })
        #expect(offline["REASON"] == "bye")
        #expect(offline["PEER"] == "127.0.0.1:\(second.localPort)")
        #expect(offline["SESSION_DURATION_MS"].flatMap { UInt64($0) } != nil)
        #expect(Set(clientEntries.compactMap { $0["SEQ"] }).count == 4, "each event has its own number")

        // The daemon's lifecycle, each step with its MESSAGE_ID.
        let lifecycle = try await run([
            "journalctl", "-D", journal, "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=heartbeatd", "_PID=\(pid)",
        ])
        let steps = try entries(lifecycle.output).filter { $0["CLIENT_ID"] == nil }
        for step in ["started", "ready", "reloading", "reloaded", "stopping"] {
            let entry = steps.first { $0["EVENT"] == step }
            #expect(entry?["MESSAGE_ID"] == messageIDs[step], "\(step)")
        }
        #expect(steps.first { $0["EVENT"] == "reloaded" }?["OUTCOME"] == "applied")

        // The catalog, with the entry's fields put into its text (journalctl -x / --catalog). journalctl
        // honours --root for --update-catalog but reads /var/lib/systemd/catalog/database for -x: so
        // the database built under ROOT is put there, in a mount namespace of its own.
        let script = """
            mount --bind "$1/var/lib/systemd/catalog" /var/lib/systemd/catalog
            exec journalctl -D "$1/var/log/journal" --catalog --no-pager -o short "CLIENT_ID=$2"
            """
        let explained = try await run([
            "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", root, id,
        ])
        try #require(explained.status == 0, "journalctl --catalog: \(explained.errors)")
        #expect(explained.output.contains("Subject: Client \(id) is online"), "\(explained.output)")
        #expect(explained.output.contains("Subject: Client \(id) was replaced by a newer session"))
        #expect(explained.output.contains("Subject: Client \(id) is offline (bye)"))
        #expect(explained.output.contains("The session of client \"\(id)\" from 127.0.0.1:\(second.localPort)"))
        #expect(explained.output.contains("Defined-By: heartbeatd"))
    }

    @Test func theCatalogHasATextForEveryMessageID() async throws {
        let root = temporaryDirectory().path
        let catalogDirectory = root + "/usr/lib/systemd/catalog"
        try FileManager.default.createDirectory(atPath: catalogDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: sourceRoot + "/deploy/heartbeatd.catalog", toPath: catalogDirectory + "/heartbeatd.catalog")
        let update = try await run(["journalctl", "--root", root, "--update-catalog"])
        try #require(update.status == 0, "journalctl --update-catalog: \(update.errors)")
        let listed = try await run(["journalctl", "--root", root, "--list-catalog", "--no-pager"])
        let ids = Set(
            listed.output.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        #expect(ids == Set(messageIDs.values))
        for (event, id) in messageIDs {
            let text = try await run(["journalctl", "--root", root, "--dump-catalog", "--no-pager", id])
            #expect(text.output.contains("Defined-By: heartbeatd"), "\(event)")
            // Every text says what happened and is more than a subject line.
            #expect(text.output.split(separator: "\n").count >= 6, "\(event): \(text.output)")
        }
    }
}

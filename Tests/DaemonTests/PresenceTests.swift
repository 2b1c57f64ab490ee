import Foundation
import Glibc
// Presence events over `watch` against the running daemon: online, replaced and offline with their
// fields and log seq; seq order across workers; offline_grace both ways; a watcher that stops reading
// is cut off without holding anything up; and what a watcher sees when the daemon stops.
import TestSupport
import Testing

@Suite struct PresenceTests {
    @Test func onlineReplacedAndOfflineWithTheirFields() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let watcher = try await Watcher(path: place.socket)
        let before = UInt64(Date().timeIntervalSince1970 * 1000)

        let first = try await identifiedClient("dev-1", port: daemon.port)
        let second = try await identifiedClient("dev-1", port: daemon.port)
        #expect(await first.readLine() == "BYE replaced")
        second.closeSocket()

        let offline = try #require(try await watcher.event("offline", "dev-1"))
        #expect(watcher.kinds(of: "dev-1") == ["online", "online", "replaced", "offline"])
        #expect(watcher.events.map { $0["seq"] as? Int } == [1, 2, 3, 4])
        let peers = watcher.events.map { $0["peer"] as? String }
        let firstPeer = "127.0.0.1:\(first.localPort)"
        let secondPeer = "127.0.0.1:\(second.localPort)"
        #expect(peers == [firstPeer, secondPeer, firstPeer, secondPeer])
        #expect(watcher.events.map { $0["reason"] as? String } == [nil, nil, "replaced", "eof"])
        #expect(watcher.events[0]["reason"] is NSNull)
        #expect(watcher.events[0]["duration_ms"] as? Int == 0)
        #expect((offline["duration_ms"] as? Int).map { $0 >= 0 } == true)
        let after = UInt64(Date().timeIntervalSince1970 * 1000)
        for event in watcher.events {
            let time = try #require(event["time_ms"] as? Int)
            #expect((before...after).contains(UInt64(time)))
            #expect((event["time"] as? String)?.hasSuffix("Z") == true)
            #expect(event["worker"] as? Int == 0)
        }

        // Each log line carries the seq of its event.
        let onlineLine = try #require(await daemon.sessionLine("online", of: second))
        #expect(field("seq", in: onlineLine) == "2")
        let replacedLine = try #require(await daemon.sessionLine("replaced", of: first))
        #expect(field("seq", in: replacedLine) == "3")
        let offlineLine = try #require(await daemon.sessionLine("offline", of: second))
        #expect(field("seq", in: offlineLine) == "4")
    }

    @Test func aKickIsAnOfflineWithItsNote() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let watcher = try await Watcher(path: place.socket)
        let client = try await identifiedClient("dev-1", port: daemon.port)
        let answer = try await ControlSocket(path: place.socket).ask("kick dev-1 --reason moved to rack 4")
        #expect(answer["ok"] as? Bool == true)
        #expect(await client.readLine() == "BYE kicked")
        let offline = try #require(try await watcher.event("offline", "dev-1"))
        #expect(offline["reason"] as? String == "kicked")
        #expect(offline["note"] as? String == "moved to rack 4")
    }

    @Test func eventsFromSeveralWorkersArriveInSeqOrder() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config("workers = 2\n"))
        let watcher = try await Watcher(path: place.socket)
        var clients: [Client] = []
        for index in 0..<30 { clients.append(try await identifiedClient("dev-\(index)", port: daemon.port)) }
        for client in clients { client.closeSocket() }
        _ = try await watcher.next(within: 10) { _ in watcher.events.count == 60 }
        #expect(watcher.events.count == 60)
        #expect(watcher.events.map { $0["seq"] as? Int } == Array(1...60))
        for index in 0..<30 { #expect(watcher.kinds(of: "dev-\(index)") == ["online", "offline"]) }
    }

    @Test func withGraceAClientBackInTimeNeverLooksOffline() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config("[events]\noffline_grace = \"30s\"\n"))
        let watcher = try await Watcher(path: place.socket)
        let first = try await identifiedClient("dev-1", port: daemon.port)
        first.closeSocket()
        #expect(await eventually { (try? await daemon.status(at: place.socket)["offline_held"] as? Int) == 1 })
        let second = try await identifiedClient("dev-1", port: daemon.port)
        #expect(await eventually { (try? await daemon.status(at: place.socket)["offline_held"] as? Int) == 0 })
        // A later event shows everything before it has been decided.
        let marker = try await identifiedClient("marker", port: daemon.port)
        #expect(try await watcher.event("online", "marker") != nil)
        #expect(watcher.kinds(of: "dev-1") == ["online"])
        #expect(watcher.events.map { $0["seq"] as? Int } == [1, 4])
        #expect(marker.localPort > 0)
        // The log still tells the whole story.
        #expect(await daemon.sessionLine("offline", of: first) != nil)
        #expect(await daemon.sessionLine("online", of: second) != nil)
    }

    @Test func withGraceAClientThatStaysAwayIsOfflineAfterIt() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config("[events]\noffline_grace = \"1s\"\n"))
        let watcher = try await Watcher(path: place.socket)
        let first = try await identifiedClient("dev-1", port: daemon.port)
        first.closeSocket()
        let offline = try #require(try await watcher.event("offline", "dev-1"))
        let arrived = UInt64(Date().timeIntervalSince1970 * 1000)
        let happened = try #require((offline["time_ms"] as? Int).map(UInt64.init))
        #expect(arrived >= happened + 1_000)
        #expect(offline["seq"] as? Int == 2)
        // Coming back after the grace is a new online.
        let again = try await identifiedClient("dev-1", port: daemon.port)
        #expect(try await watcher.next { $0["seq"] as? Int == 3 }?["event"] as? String == "online")
        #expect(watcher.kinds(of: "dev-1") == ["online", "offline", "online"])
        #expect(watcher.events.last?["peer"] as? String == "127.0.0.1:\(again.localPort)")
    }

    @Test func aWatcherThatStopsReadingIsCutOff() async throws {
        raiseDescriptorLimit()
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config("[log]\nsessions = false\n"))
        let slow = try ControlSocket(path: place.socket, receiveBuffer: 4_096)
        #expect(try await slow.ask("watch")["watching"] as? Bool == true)
        let id = String(repeating: "s", count: 60)
        var cutOff = false
        for index in 0..<3_000 where !cutOff {
            let client = try await identifiedClient("\(id)\(index)", port: daemon.port)
            client.closeSocket()
            if index % 25 == 0 { cutOff = daemon.lines(containing: "fell more than 65536 bytes behind").count == 1 }
        }
        #expect(cutOff)
        // The daemon went on serving while the watcher was stuck.
        #expect(try await daemon.status(at: place.socket)["watchers"] as? Int == 0)
        var lines: [String] = []
        while let line = await slow.readLine(within: 5) { lines.append(line) }
        let last = try jsonObject(try #require(lines.last))
        #expect(last["error"] as? String == "too-slow")
        #expect(last["message"] as? String == "disconnected: the watcher fell more than 65536 bytes behind")
        let events = try lines.dropLast().map(jsonObject)
        #expect(!events.isEmpty)
        #expect(events.allSatisfy { $0["seq"] is Int })
        #expect(await slow.isClosedByDaemon())
    }

    @Test func aStoppingDaemonTellsWatchersEveryOfflineThenThatItStops() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config("[events]\noffline_grace = \"30s\"\n"))
        let watcher = try await Watcher(path: place.socket)
        let client = try await identifiedClient("dev-1", port: daemon.port)
        daemon.signal(SIGTERM)
        #expect(await client.readLine() == "BYE shutdown")
        client.closeSocket()
        // Held back by the grace until the daemon stops, then shown.
        let offline = try #require(try await watcher.event("offline", "dev-1", within: 10))
        #expect(offline["reason"] as? String == "shutdown")
        let last = try await watcher.socket.readObject()
        #expect(last["error"] as? String == "shutting-down")
        #expect(await watcher.socket.isClosedByDaemon())
        #expect(await daemon.waitForExit() == 0)
    }
}

// Admission on its own: max_clients over all addresses, max_clients_per_address per host (0: none), a
// session over a limit counted in all the same (its reap counts it out), and leaving frees the room.
import Posix
import Testing

@testable import ServerCore

@Suite struct AdmissionTests {
    private let a = SocketAddress(host: "10.0.0.1", port: 1)!.host
    private let b = SocketAddress(host: "10.0.0.2", port: 1)!.host
    private let v6 = SocketAddress(host: "::1", port: 1)!.host

    @Test func maxClientsCountsEveryAddress() {
        let admission = Admission()
        #expect(admission.enter(a, maxClients: 2, maxPerAddress: 0))
        #expect(admission.enter(b, maxClients: 2, maxPerAddress: 0))
        #expect(!admission.enter(v6, maxClients: 2, maxPerAddress: 0), "the third is over max_clients")
        #expect(admission.total == 3, "counted in until its reap")
        admission.leave(v6)
        admission.leave(b)
        #expect(admission.enter(v6, maxClients: 2, maxPerAddress: 0), "room again")
    }

    @Test func perAddressLimitIsPerHost() {
        let admission = Admission()
        #expect(admission.enter(a, maxClients: 100, maxPerAddress: 2))
        #expect(admission.enter(a, maxClients: 100, maxPerAddress: 2))
        #expect(!admission.enter(a, maxClients: 100, maxPerAddress: 2))
        #expect(admission.enter(b, maxClients: 100, maxPerAddress: 2), "another host has its own count")
        admission.leave(a)
        admission.leave(a)
        #expect(admission.enter(a, maxClients: 100, maxPerAddress: 2))
        #expect(admission.total == 3)
    }

    @Test func zeroMeansNoPerAddressLimit() {
        let admission = Admission()
        for _ in 0..<50 { #expect(admission.enter(a, maxClients: 100, maxPerAddress: 0)) }
        #expect(admission.total == 50)
    }

    @Test func leavingTheLastSessionOfAHostForgetsIt() {
        let admission = Admission()
        _ = admission.enter(a, maxClients: 10, maxPerAddress: 1)
        admission.leave(a)
        #expect(admission.total == 0)
        #expect(admission.enter(a, maxClients: 10, maxPerAddress: 1), "a fresh count, not a stale one")
    }
}

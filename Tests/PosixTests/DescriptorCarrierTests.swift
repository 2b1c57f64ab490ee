import Glibc
import TestSupport
import Testing

// Descriptors in flight in a carrier: what goes in comes out, the same files in the same order, across
// as many carriers as the send buffer needs; a carrier closed unread closes what it holds.
@testable import Posix

@Suite struct DescriptorCarrierTests {
    /// `count` pipes: the read ends to send, the write ends to tell them apart and to see them close.
    private func pipes(_ count: Int) throws -> (reading: [Int32], writing: [Int32]) {
        var reading: [Int32] = []
        var writing: [Int32] = []
        for _ in 0..<count {
            var ends: [Int32] = [-1, -1]
            try #require(pipe(&ends) == 0)
            for end in ends {
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
                _ = fcntl(end, F_SETFL, O_NONBLOCK)
            }
            reading.append(ends[0])
            writing.append(ends[1])
        }
        return (reading, writing)
    }

    private func inode(_ fd: Int32) -> UInt64 {
        var status = stat()
        return fstat(fd, &status) == 0 ? UInt64(status.st_ino) : 0
    }

    @Test func whatGoesInComesOutInOrderAcrossCarriers() throws {
        // 2,000 pipes: 8 messages of at most 253; a 1-byte buffer (the kernel's minimum, 4.5 KiB) holds
        // about 6, so a full carrier makes the next one.
        _ = try DescriptorLimit.raiseToHardLimit()
        let (reading, writing) = try pipes(2_000)
        defer { for fd in reading + writing { close(fd) } }
        let expected = reading.map(inode)
        let loaded = DescriptorCarrier.load(reading.map { DescriptorID($0) }, bufferBytes: 1)
        #expect(loaded.failure == nil)
        #expect(loaded.sent == 2_000)
        #expect(loaded.carriers.count > 1, "a minimal buffer should need several carriers")
        var received: [Int32] = []
        for carrier in loaded.carriers {
            let unloaded = DescriptorCarrier.unload(carrier, room: 10_000)
            #expect(unloaded.failure == nil)
            received += unloaded.descriptors.map(\.rawValue)
        }
        defer { for fd in received { close(fd) } }
        #expect(received.map(inode) == expected)
        #expect(received.allSatisfy { fcntl($0, F_GETFD) & FD_CLOEXEC != 0 })
    }

    @Test func aCarrierClosedUnreadClosesWhatItHolds() throws {
        // The write ends go in flight and this process closes its own copies: only the carrier keeps the
        // pipes' writers alive, so closing it unread (systemd discarding the store) gives the readers EOF.
        let (reading, writing) = try pipes(300)
        defer { for fd in reading { close(fd) } }
        let loaded = DescriptorCarrier.load(writing.map { DescriptorID($0) })
        #expect(loaded.sent == 300)
        #expect(loaded.carriers.count == 1)
        for fd in writing { close(fd) }
        var byte: UInt8 = 0
        #expect(reading.allSatisfy { read($0, &byte, 1) == -1 && errno == EAGAIN }, "the carrier holds the writers")
        for carrier in loaded.carriers { Descriptors.close(carrier) }
        #expect(eventuallyBlocking { reading.allSatisfy { read($0, &byte, 1) == 0 } }, "every reader sees EOF")
    }

    @Test func unloadTakesWholeMessagesThatFitTheRoomAndClosesTheRest() throws {
        // 300 write ends: a message of 253 and one of 47. Room for 280 takes the first; the second stays
        // in the carrier and closes with it (its readers see EOF).
        let (reading, writing) = try pipes(300)
        defer { for fd in reading { close(fd) } }
        let loaded = DescriptorCarrier.load(writing.map { DescriptorID($0) })
        for fd in writing { close(fd) }
        let unloaded = DescriptorCarrier.unload(try #require(loaded.carriers.first), room: 280)
        defer { for descriptor in unloaded.descriptors { close(descriptor.rawValue) } }
        #expect(unloaded.descriptors.count == 253)
        #expect(unloaded.failure?.contains("no room") == true, "\(unloaded.failure ?? "no failure")")
        var byte: UInt8 = 0
        #expect(eventuallyBlocking { reading[253...].allSatisfy { read($0, &byte, 1) == 0 } })
        #expect(reading[..<253].allSatisfy { read($0, &byte, 1) == -1 && errno == EAGAIN })
    }

    @Test func anEmptyListMakesNoCarrier() {
        let loaded = DescriptorCarrier.load([])
        #expect(loaded.carriers.isEmpty)
        #expect(loaded.sent == 0)
        #expect(loaded.failure == nil)
    }
}

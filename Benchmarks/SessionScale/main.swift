// session-scale: N sessions (default 1,000,000) in one real ServerCore worker, no sockets (Rig.swift says
// how): resident bytes per identified session, and nanoseconds per connect, HELLO, heartbeat, deadline
// re-arm, takeover and reap at that N. Run at 10,000 and 1,000,000 to see what the table's size costs.
//
//     session-scale [sessions] [id-length]
import Glibc
import Posix
import Primitives

@testable import ServerCore

let arguments = CommandLine.arguments.dropFirst()
let count = arguments.first.flatMap { Int($0) } ?? 1_000_000
let idLength = arguments.dropFirst().first.flatMap { Int($0) } ?? 14
precondition(count >= 1_000 && count <= 4_000_000, "sessions: 1000...4000000")
precondition(idLength >= 8 && idLength <= 64, "id-length: 8...64 (ids of up to 15 bytes are stored inline)")

/// Client `index`'s id, made afresh at each call as the parser makes it from a HELLO line: an id of more
/// than 15 bytes is a heap block of its own, which the session and the registry key then share.
func makeID(_ index: Int) -> String {
    let digits = String(index)
    return "device-" + String(repeating: "0", count: max(0, idLength - 7 - digits.count)) + digits
}

/// Everything else the benchmark needs is made before the baseline, so the delta is the daemon's alone.
// One address per client (none behind a shared NAT): the admission count keeps an entry per address.
let peers = (0..<count).map { (index: Int) -> SocketAddress in
    let octets: [UInt8] = [10, UInt8(truncatingIfNeeded: index >> 16), UInt8(truncatingIfNeeded: index >> 8)]
    return SocketAddress(bytes: octets + [UInt8(truncatingIfNeeded: index)], port: 40_000)!
}
let order = Array(0..<count).shuffled()
let takeovers = Array(order.prefix(min(count, 100_000)))
var slots = [Int](repeating: 0, count: count)

let rig = try Rig(capacity: count)
try rig.turn()
let baseline = residentBytes()

/// CPU nanoseconds `body` took on this thread, user and system: on a shared machine, wall-clock time
/// would count the time other processes had the core.
func measure(_ body: () throws -> Void) rethrows -> UInt64 {
    let start = threadCPUNanoseconds()
    try body()
    return threadCPUNanoseconds() - start
}

func threadCPUNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

// Connect and HELLO in batches of 1000, the batches spread over one interval, so deadlines spread as a
// fleet's do (each batch's HELLOs in one loop turn, as a worker handles a burst of reads).
let batch = 1_000
var connectTime: UInt64 = 0
var helloTime: UInt64 = 0
for first in stride(from: 0, to: count, by: batch) {
    rig.clock.now += Rig.interval * UInt64(batch) / UInt64(count)
    try rig.turn()
    let range = first..<min(first + batch, count)
    connectTime += measure { for index in range { slots[index] = rig.connect(from: peers[index]) } }
    let ids = range.map(makeID)
    helloTime += measure { for (index, id) in zip(range, ids) { rig.hello(slots[index], id: id) } }
}
precondition(
    rig.connected == count && ClientID(makeID(count - 1)).flatMap(rig.worker.shared.registry.owner(of:)) != nil)
let bytesPerSession = Double(residentBytes() - baseline) / Double(count)

// Heartbeats, one per session in random order, at the same instant: each only stores lastHeard.
try rig.run(for: Rig.interval)
let heartbeatTime = measure { for index in order { rig.heartbeat(slots[index]) } }

// Every session's armed deadline comes up (they were armed at HELLO) and finds it moved: re-armed.
let rearmTime = try measure { try rig.run(for: Rig.interval * 2 + Rig.tick) }
precondition(rig.connected == count, "a session that beat was reaped")

// Takeovers: a new session from the same client HELLOs with the same id; the old one is reaped `replaced`.
let takeoverIDs = takeovers.map(makeID)
let takeoverTime = measure {
    for (index, id) in zip(takeovers, takeoverIDs) {
        let old = slots[index]
        slots[index] = rig.connect(from: peers[index])
        rig.hello(slots[index], id: id)
        precondition(!rig.worker.sessions.isOpen(old), "takeover left the old session")
    }
}
precondition(rig.connected == count)

// Silence: every deadline passes and each session is reaped `timeout`.
let reapTime = try measure { try rig.run(for: Rig.timeout + Rig.interval + Rig.tick) }
precondition(rig.connected == 0, "\(rig.connected) sessions were not reaped")

// The floor of every syscall the worker makes for these sessions: one that fails with EBADF at once.
let unused = Int32(rig.firstDescriptor + 2 * count + 1_000)
let syscallTime = measure { for _ in 0..<100_000 { close(unused) } }

func perOperation(_ nanoseconds: UInt64, _ operations: Int) -> String {
    let tenths = Int((Double(nanoseconds) / Double(operations) * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) ns"
}

print(
    "sessions        \(count) (ids of \(idLength) bytes, one worker, descriptors from \(rig.firstDescriptor); CPU time per op)"
)
print("resident        \(Int(bytesPerSession.rounded())) B per identified session")
print("connect         \(perOperation(connectTime, count))")
print("HELLO           \(perOperation(helloTime, count))")
print("heartbeat       \(perOperation(heartbeatTime, count))")
print("re-arm          \(perOperation(rearmTime, count)) (the turns through the deadlines, per session)")
print("takeover        \(perOperation(takeoverTime, takeovers.count)) (connect + HELLO + reap replaced)")
print("reap            \(perOperation(reapTime, count)) (the turns through the deadlines, per session)")
print("EBADF syscall   \(perOperation(syscallTime, 100_000)) (close of a number above the limit)")

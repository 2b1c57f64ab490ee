// Descriptors in flight: sent with SCM_RIGHTS into one end of a unix socketpair and held by the kernel
// until someone reads the other end, which is the only end kept (a "carrier"). A restart hands its
// sessions to systemd this way: one stored descriptor per carrier instead of one per session.
import CLinux
import Glibc

/// SOCK_SEQPACKET, not SOCK_STREAM: each message is one record whose descriptors arrive with it, and a
/// short or cut record shows (MSG_TRUNC, MSG_CTRUNC) instead of running into the next. A socketpair's
/// messages are not held to `net.unix.max_dgram_qlen`; they are charged to the sender's send buffer
/// (about 770 bytes each: 253 descriptors per message, ≈ 140,000 per carrier at Debian's default
/// `net.core.wmem_max`). Each descriptor in flight counts against the sending user's RLIMIT_NOFILE
/// (ETOOMANYREFS past it) unless the sender has CAP_SYS_RESOURCE or CAP_SYS_ADMIN.
public enum DescriptorCarrier {
    /// The kernel passes at most this many descriptors in one message (SCM_MAX_FD).
    public static let batch = 253

    /// What `load` did: the carriers (receiving ends; the sending ends are closed), how many of the
    /// descriptors went in — always the first ones — and why the rest did not.
    public struct Loaded {
        public var carriers: [DescriptorID] = []
        public var sent = 0
        public var failure: SystemError?
    }

    /// What `unload` found: the descriptors (close-on-exec), in the order they were sent, and what went
    /// wrong, if anything — then the carrier's other descriptors were closed by the kernel with it.
    public struct Unloaded {
        public var descriptors: [DescriptorID] = []
        public var failure: String?
    }

    /// Sends `descriptors` into as many carriers as their send buffers need (`bufferBytes`, capped by
    /// `net.core.wmem_max`; a new pair when one is full). The descriptors stay open here: the kernel holds
    /// its own reference to each until the carrier is read or closed.
    /// The corresponding C functions are `socketpair(2)` and `sendmsg(2)` with `SCM_RIGHTS`.
    public static func load(_ descriptors: [DescriptorID], bufferBytes: Int32 = Int32.max / 2) -> Loaded {
        var loaded = Loaded()
        // The pair being filled (raw: both ends close here or the receiving one is handed out) and how
        // many messages it holds.
        var pair: (sending: Int32, receiving: Int32)?
        var messages = 0
        while loaded.sent < descriptors.count {
            do throws(SystemError) {
                if pair == nil { pair = try makePair(bufferBytes: bufferBytes) }
                let current = pair!
                let chunk = descriptors[loaded.sent..<min(loaded.sent + batch, descriptors.count)]
                switch try send(chunk, on: current.sending) {
                case .done:
                    loaded.sent += chunk.count
                    messages += 1
                case .wouldBlock where messages == 0:
                    throw SystemError(call: "sendmsg(SCM_RIGHTS) into an empty carrier", errno: .noBufferSpace)
                case .wouldBlock:
                    closeDescriptor(current.sending)
                    loaded.carriers.append(DescriptorID(current.receiving))
                    pair = nil
                    messages = 0
                }
            } catch {
                loaded.failure = error
                break
            }
        }
        if let last = pair {
            closeDescriptor(last.sending)
            if messages > 0 {
                loaded.carriers.append(DescriptorID(last.receiving))
            } else {
                closeDescriptor(last.receiving)
            }
        }
        return loaded
    }

    /// Takes the descriptors out of `carrier`, at most `room` of them (what this process may still open
    /// and leave enough for its own work), and closes it: whatever it still holds the kernel closes with
    /// it. Stops at the first message that would not fit in `room` (its count is peeked first), that came
    /// cut anyway (this process out of descriptors: MSG_CTRUNC) or malformed, or at a read error.
    /// The corresponding C function is `recvmsg(2)` with `MSG_CMSG_CLOEXEC`.
    public static func unload(_ carrier: DescriptorID, room: Int) -> Unloaded {
        defer { closeDescriptor(carrier.rawValue) }
        var unloaded = Unloaded()
        while true {
            do throws(SystemError) {
                guard let next = try peekCount(carrier.rawValue) else { return unloaded }
                guard unloaded.descriptors.count + next <= room else {
                    unloaded.failure =
                        "no room for more: the descriptor limit leaves \(room) for sessions, and \(unloaded.descriptors.count) + \(next) came"
                    return unloaded
                }
                guard let message = try receive(from: carrier.rawValue) else { return unloaded }
                unloaded.descriptors += message.descriptors
                if let problem = message.problem {
                    unloaded.failure = problem
                    return unloaded
                }
            } catch {
                unloaded.failure = "\(error)"
                return unloaded
            }
        }
    }

    /// The next message's descriptor count, read without taking the message (MSG_PEEK with no control
    /// buffer installs no descriptors); nil at the end.
    private static func peekCount(_ fd: Int32) throws(SystemError) -> Int? {
        var count: UInt32 = 0
        let result = try nonBlocking("recv(MSG_PEEK)") {
            recv(fd, &count, MemoryLayout<UInt32>.size, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        }
        guard case .done(let length) = result, length > 0 else { return nil }
        return Int(UInt32(littleEndian: count))
    }

    private static func makePair(bufferBytes: Int32) throws(SystemError) -> (sending: Int32, receiving: Int32) {
        var ends: [Int32] = [-1, -1]
        _ = try retrying("socketpair(AF_UNIX, SOCK_SEQPACKET)") {
            socketpair(
                AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | clinux_SOCK_NONBLOCK | clinux_SOCK_CLOEXEC, 0, &ends)
        }
        var size = bufferBytes
        let result = setsockopt(ends[0], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        guard result == 0 else {
            let error = SystemError(call: "setsockopt(SO_SNDBUF)", errno: .current)
            closeDescriptor(ends[0])
            closeDescriptor(ends[1])
            throw error
        }
        return (ends[0], ends[1])
    }

    /// One message: the count as 4 bytes (so a reader can tell a cut message), the descriptors beside it.
    private static func send(_ chunk: ArraySlice<DescriptorID>, on fd: Int32) throws(SystemError) -> IOResult<Int> {
        try withMessage(room: chunk.count) { data, control, message throws(SystemError) in
            data.storeBytes(of: UInt32(chunk.count).littleEndian, as: UInt32.self)
            var header = cmsghdr()
            header.cmsg_len = headerSize + chunk.count * 4
            header.cmsg_level = SOL_SOCKET
            header.cmsg_type = Int32(SCM_RIGHTS)
            control.storeBytes(of: header, as: cmsghdr.self)
            for (index, descriptor) in chunk.enumerated() {
                control.storeBytes(of: descriptor.rawValue, toByteOffset: headerSize + index * 4, as: Int32.self)
            }
            return try nonBlocking("sendmsg(SCM_RIGHTS)") {
                sendmsg(fd, &message, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
        }
    }

    /// The next message's descriptors and what was wrong with it; nil at the end (the sending end closed
    /// and everything was read).
    private static func receive(from fd: Int32) throws(SystemError) -> (descriptors: [DescriptorID], problem: String?)?
    {
        try withMessage(room: batch) { data, control, message throws(SystemError) in
            let result = try nonBlocking("recvmsg(SCM_RIGHTS)") {
                recvmsg(fd, &message, Int32(MSG_CMSG_CLOEXEC) | Int32(MSG_DONTWAIT))
            }
            guard case .done(let length) = result, length > 0 else { return nil }
            let descriptors = descriptors(in: UnsafeRawBufferPointer(rebasing: control[..<message.msg_controllen]))
            let expected = Int(UInt32(littleEndian: data.load(as: UInt32.self)))
            if message.msg_flags & Int32(MSG_CTRUNC) != 0 {
                return (
                    descriptors,
                    "a message came cut (MSG_CTRUNC): \(descriptors.count) of \(expected) descriptors arrived"
                )
            }
            guard length == data.count, message.msg_flags & Int32(MSG_TRUNC) == 0, descriptors.count == expected
            else {
                return (
                    descriptors,
                    "a malformed message: \(length) bytes, \(descriptors.count) descriptors for \(expected)"
                )
            }
            return (descriptors, nil)
        }
    }

    /// Runs `body` with one message's buffers, zeroed, for the call's lifetime: 4 data bytes (the count) in
    /// one iovec, and control room for `room` descriptors; `message` points at both.
    private static func withMessage<Result>(
        room: Int,
        _ body: (UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer, inout msghdr) throws(SystemError) ->
            Result
    ) throws(SystemError) -> Result {
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 4)
        let control = UnsafeMutableRawBufferPointer.allocate(
            byteCount: controlSpace(for: room), alignment: MemoryLayout<cmsghdr>.alignment)
        let vector = UnsafeMutablePointer<iovec>.allocate(capacity: 1)
        defer {
            data.deallocate()
            control.deallocate()
            vector.deallocate()
        }
        data.storeBytes(of: 0, as: UInt32.self)
        control.initializeMemory(as: UInt8.self, repeating: 0)
        vector.initialize(to: iovec(iov_base: data.baseAddress, iov_len: data.count))
        var message = msghdr()
        message.msg_iov = vector
        message.msg_iovlen = 1
        message.msg_control = control.baseAddress
        message.msg_controllen = control.count
        return try body(data, control, &message)
    }

    /// The SCM_RIGHTS descriptors in a received control buffer (CMSG_FIRSTHDR/CMSG_NXTHDR by hand: macros).
    private static func descriptors(in control: UnsafeRawBufferPointer) -> [DescriptorID] {
        var found: [DescriptorID] = []
        var offset = 0
        while offset + headerSize <= control.count {
            let header = control.loadUnaligned(fromByteOffset: offset, as: cmsghdr.self)
            guard header.cmsg_len >= headerSize, offset + header.cmsg_len <= control.count else { break }
            if header.cmsg_level == SOL_SOCKET, header.cmsg_type == Int32(SCM_RIGHTS) {
                for index in 0..<(header.cmsg_len - headerSize) / 4 {
                    let number = control.loadUnaligned(fromByteOffset: offset + headerSize + index * 4, as: Int32.self)
                    found.append(DescriptorID(number))
                }
            }
            offset += aligned(header.cmsg_len)
        }
        return found
    }

    /// `CMSG_LEN(0)`: the header, padded to the alignment of `size_t` as the kernel lays it out.
    private static let headerSize = aligned(MemoryLayout<cmsghdr>.size)

    /// `CMSG_SPACE(count × 4)`.
    private static func controlSpace(for count: Int) -> Int { headerSize + aligned(count * 4) }

    private static func aligned(_ length: Int) -> Int {
        let unit = MemoryLayout<Int>.size
        return (length + unit - 1) / unit * unit
    }
}

// heartbeatctl's side of the control socket: connect, send one request line, read answer lines.
// Blocking calls are right here: the tool does one thing at a time and waits for it.
import ControlProtocol
import Posix

struct ControlClient: ~Copyable {
    /// How long a request may wait for its answer (a `watch` waits forever).
    static let answerTimeoutSeconds = 30

    private let socket: Socket
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 65_536)

    init(path: String) throws(HeartbeatctlError) {
        do {
            socket = try Socket.connectUnix(to: path)
        } catch {
            throw .cannotConnect(path: path, error)
        }
    }

    /// Sends `request`; unless it is `watch`, reads give up after `answerTimeoutSeconds`.
    mutating func send(_ request: ControlRequest) throws(HeartbeatctlError) {
        if request != .watch {
            do { try socket.setReceiveTimeout(milliseconds: Self.answerTimeoutSeconds * 1_000) } catch {
                throw .connectionLost(error)
            }
        }
        let line = Array(request.line.utf8)
        let sent = line.withUnsafeBytes { bytes in Result { () throws(SystemError) in try socket.sendAll(bytes) } }
        guard case .failure(let error) = sent else { return }
        // A daemon that refuses this peer answers and closes at once, maybe before the request is
        // written: its one line says why, which tells more than the EPIPE.
        if case .control(let refusal)? = Result(catching: { () throws(HeartbeatctlError) in try nextObject() }).error {
            throw .control(refusal)
        }
        throw .connectionLost(error)
    }

    /// The next line, without its `\n`, or nil when the daemon has closed the connection.
    mutating func nextLine() throws(HeartbeatctlError) -> [UInt8]? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            let read = chunk.withUnsafeMutableBytes { bytes in
                Result { () throws(SystemError) in try socket.read(into: bytes) }
            }
            let result: IOResult<Int>
            switch read {
            case .success(let value): result = value
            case .failure(let error): throw .connectionLost(error)
            }
            switch result {
            case .wouldBlock: throw .noAnswer(seconds: Self.answerTimeoutSeconds)
            case .done(0): return nil
            case .done(let count): buffer += chunk[..<count]
            }
        }
    }

    /// The next line and what kind it is; an error answer is thrown, EOF is `connectionLost(nil)`.
    mutating func nextObject() throws(HeartbeatctlError) -> (head: AnswerHead, line: [UInt8]) {
        guard let line = try nextLine() else { throw .connectionLost(nil) }
        let head = try AnswerDecoder.decode(AnswerHead.self, from: line)
        if let error = head.failure { throw .control(error) }
        return (head, line)
    }

    /// Sends `request` and reads its one-line answer.
    mutating func ask(_ request: ControlRequest) throws(HeartbeatctlError) -> (head: AnswerHead, line: [UInt8]) {
        try send(request)
        return try nextObject()
    }
}

extension Result {
    /// The failure, if it is one.
    fileprivate var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

// The channel's end of a connection: bytes from the server framed into lines (WireProtocol's Framing) and
// decoded (ServerLine), delivered in order on an AsyncStream, followed by one `.closed`.
import NIOCore
import WireProtocol

/// What the server said, or how the connection ended.
enum Inbound: Sendable {
    /// One line; `line` is nil when it is none of OK, PONG, ERR, BYE. `text` is its start, for messages.
    case line(ServerLine?, text: String)
    /// A TLS, socket or framing error; the channel is closing.
    case failed(any Error)
    /// The channel is closed. Always the last element.
    case closed
}

final class LineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    /// Unbounded: the server says at most one line per line the client sends, and the reader drains it.
    let inbound: AsyncStream<Inbound>
    private let sink: AsyncStream<Inbound>.Continuation
    /// Bytes of a line not yet complete.
    private var pending: [UInt8] = []

    init() {
        (inbound, sink) = AsyncStream.makeStream(of: Inbound.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        pending.append(contentsOf: buffer.readableBytesView)
        var start = 0
        while true {
            let frame = pending.withUnsafeBytes { Framing.next(in: $0, from: start, maxLine: Framing.defaultMaxLine) }
            switch frame {
            case .line(let range, let next):
                start = next
                let line = pending.withUnsafeBytes { bytes in try? ServerLine.decode(bytes, line: range) }
                sink.yield(.line(line, text: String(decoding: pending[range].prefix(64), as: UTF8.self)))
            case .incomplete:
                pending.removeFirst(start)
                return
            case .failed(let error):
                pending = []
                sink.yield(.failed(error))
                context.close(promise: nil)
                return
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        sink.yield(.failed(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink.yield(.closed)
        sink.finish()
        context.fireChannelInactive()
    }
}

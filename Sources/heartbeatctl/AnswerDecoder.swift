// Answer lines into the protocol's Decodable models, with FoundationEssentials' JSONDecoder (the
// CLI may link it; the daemon, which only writes JSON, does not). A failure names what was wrong.
import ControlProtocol
import FoundationEssentials

enum AnswerDecoder {
    static func decode<Model: Decodable>(_ type: Model.Type, from line: [UInt8]) throws(HeartbeatctlError) -> Model {
        do {
            return try JSONDecoder().decode(type, from: Data(line))
        } catch let error as DecodingError {
            throw .control(ControlError(error, line: String(decoding: line, as: UTF8.self)))
        } catch {
            throw .control(.badAnswer("\(error)"))
        }
    }
}

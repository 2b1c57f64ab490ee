// A TOML file parsed by toml++ through CTOML, TOMLKit's C layer, owning every allocation: TOMLKit's Swift
// layer frees nothing a parse or a read allocates (LebJe/TOMLKit#26, about 2 KiB a parse). The document
// frees toml++'s tree when it goes; a TOMLNode points into that tree and frees what a getter mallocs.
import CTOML
import Glibc

/// A parsed file. Its deinit empties the tree with `tableClear` (every node freed); the empty
/// `toml::table` itself, 96 B, stays: CTOML has no call that deletes it, and `free` on what C++ `new`
/// made is a mismatch AddressSanitizer reports.
final class TOMLDocument {
    private let root: OpaquePointer

    /// Reads `text`, or throws the parser's message with its line and column.
    init(parsing text: String) throws(ConfigError) {
        // CTOML fills this in only when the parse fails; its description is strdup'ed.
        let failure = UnsafeMutablePointer<CTOMLParseError>.allocate(capacity: 1)
        defer { failure.deallocate() }
        guard let root = text.withCString({ tableCreateFromString($0, failure) }) else {
            let at = failure.pointee.source.begin
            let description = String(cString: failure.pointee.description)
            free(UnsafeMutablePointer(mutating: failure.pointee.description))
            throw ConfigError(
                key: "", message: "invalid TOML at line \(at.line), column \(at.column): \(description)")
        }
        self.root = root
    }

    deinit {
        tableClear(root)
    }

    /// The top-level table.
    var table: TOMLNode {
        TOMLNode(nodeFromTable(root), in: self)
    }
}

/// One value of a TOMLDocument: a pointer into its tree (the getters used here copy no node), which keeps
/// the document alive. Every accessor copies the value out and frees what CTOML allocated for it.
struct TOMLNode {
    enum Kind { case table, array, string, integer, float, boolean, date, time, dateTime }

    private let pointer: OpaquePointer
    private let document: TOMLDocument

    fileprivate init(_ pointer: OpaquePointer, in document: TOMLDocument) {
        self.pointer = pointer
        self.document = document
    }

    var kind: Kind {
        switch nodeType(pointer) {
        case .table: .table
        case .array: .array
        case .string: .string
        case .integer: .integer
        case .floatingPoint: .float
        case .boolean: .boolean
        case .date: .date
        case .timeType: .time
        case .dateTime: .dateTime
        }
    }

    var string: String? {
        guard let text = nodeAsString(pointer) else { return nil }
        defer { free(UnsafeMutablePointer(mutating: text)) }
        return String(cString: text)
    }

    var int: Int? {
        guard let value = nodeAsInt(pointer) else { return nil }
        defer { free(UnsafeMutablePointer(mutating: value)) }
        return Int(value.pointee)
    }

    var bool: Bool? {
        guard let value = nodeAsBool(pointer) else { return nil }
        defer { free(UnsafeMutablePointer(mutating: value)) }
        return value.pointee
    }

    /// The elements of an array, in order; nil for any other value.
    var array: [TOMLNode]? {
        guard let array = nodeAsArray(pointer) else { return nil }
        return (0..<arraySize(array)).map { TOMLNode(arrayGetNode(array, Int64($0)), in: document) }
    }

    /// This node if it is a table, so `table?[key]` reads like TOMLKit's.
    var table: TOMLNode? {
        nodeAsTable(pointer) == nil ? nil : self
    }

    /// The value at `key` of a table; nil if there is none or this is no table.
    subscript(key: String) -> TOMLNode? {
        guard let table = nodeAsTable(pointer), let node = tableGetNode(table, key) else { return nil }
        return TOMLNode(node, in: document)
    }

    /// A table's keys in toml++'s order (sorted); none for any other value.
    var keys: [String] {
        guard let table = nodeAsTable(pointer) else { return [] }
        let count = tableSize(table)
        guard count > 0 else { return [] }
        let keys = tableGetKeys(table)
        defer {
            for index in 0..<count { free(UnsafeMutablePointer(mutating: keys[index])) }
            free(UnsafeMutableRawPointer(mutating: keys))
        }
        return (0..<count).map { String(cString: keys[$0]) }
    }

    /// A scalar as TOMLKit 0.6's `debugDescription` wrote it (error messages keep their text): 10, 1.5,
    /// true, 1979-05-27, 07:32:00, 1979-05-27T07:32:00Z (a date-time without offset gets a Z). "" for a
    /// string, an array or a table, which `shown` words itself.
    var literal: String {
        switch kind {
        case .integer: int.map { String($0) } ?? ""
        case .boolean: bool.map { String($0) } ?? ""
        case .float: owned(nodeAsDouble(pointer)) { String($0) } ?? ""
        case .date: owned(nodeAsDate(pointer)) { text(cTOMLDateToTOML($0)) } ?? ""
        case .time: owned(nodeAsTime(pointer)) { text(cTOMLTimeToTOML($0)) } ?? ""
        // CTOML allocates the offset with C++ `new`, which `free` must not release: an offset date-time
        // where no key takes one (an error already) leaves those 2 bytes.
        case .dateTime: owned(nodeAsDateTime(pointer)) { text(cTOMLDateTimeToTOML($0)) } ?? ""
        case .string, .array, .table: ""
        }
    }
}

/// `convert(value.pointee)`, then frees the value CTOML malloc'ed.
private func owned<Value, Result>(_ value: UnsafePointer<Value>?, _ convert: (Value) -> Result) -> Result? {
    guard let value else { return nil }
    defer { free(UnsafeMutablePointer(mutating: value)) }
    return convert(value.pointee)
}

/// A string CTOML strdup'ed, copied and freed.
private func text(_ pointer: UnsafePointer<CChar>) -> String {
    defer { free(UnsafeMutablePointer(mutating: pointer)) }
    return String(cString: pointer)
}

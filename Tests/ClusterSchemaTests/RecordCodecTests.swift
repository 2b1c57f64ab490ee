// The record and stream-entry codecs: round trips, and what another version or a damaged record
// turns into (an error to log and skip).
import ClusterSchema
import Testing

@Suite struct RecordCodecTests {
    private func map(_ fields: [String]) -> [String: String] {
        var map: [String: String] = [:]
        for index in stride(from: 0, to: fields.count, by: 2) { map[fields[index]] = fields[index + 1] }
        return map
    }

    @Test func recordRoundTrips() throws {
        let record = PresenceRecord(
            node: "n1", session: PresenceRecord.session(run: 1_700, seq: 41), peer: "10.0.0.7:51234", sinceMS: 1_748,
            seq: 41)
        #expect(record.session == "1700.41")
        #expect(record.fields.count == 12)
        // What `claim` takes: the values alone, in the fields' order (the script names them).
        #expect(record.values == stride(from: 3, to: 12, by: 2).map { record.fields[$0] })
        #expect(try PresenceRecord(fields: map(record.fields)) == record)
    }

    @Test func recordOfAnotherVersionIsRefused() {
        #expect(throws: SchemaError.otherVersion("2")) {
            try PresenceRecord(fields: ["v": "2", "node": "n1"])
        }
        #expect(throws: SchemaError.otherVersion("")) { try PresenceRecord(fields: ["node": "n1"]) }
    }

    @Test func damagedRecordIsRefused() {
        var fields = map(
            PresenceRecord(node: "n1", session: "1.1", peer: "p", sinceMS: 5, seq: 1).fields)
        fields["since"] = "soon"
        #expect(throws: SchemaError.badField("since", "soon")) { try PresenceRecord(fields: fields) }
        fields["since"] = nil
        #expect(throws: SchemaError.missingField("since")) { try PresenceRecord(fields: fields) }
    }

    @Test func streamEntryRoundTrips() throws {
        let entry = StreamEntry(
            event: "offline", node: "n2", seq: 9, timeMS: 77, id: "dev-1", peer: "1.2.3.4:5", reason: "node-lost",
            durationMS: 0, by: "n1")
        #expect(try StreamEntry(fields: map(entry.fields)) == entry)
        let lost = StreamEntry(event: "node-lost", node: "n2", seq: 0, timeMS: 78, by: "n1", count: 17)
        #expect(try StreamEntry(fields: map(lost.fields)) == lost)
        #expect(throws: SchemaError.otherVersion("0")) { try StreamEntry(fields: ["v": "0"]) }
    }

    @Test func onlyANodesOwnPlainEntryIsShort() {
        let own = StreamEntry(event: "offline", node: "n1", seq: 9, timeMS: 77, id: "d", peer: "p", reason: "eof")
        #expect(own.isShort(for: "n1") && !own.isShort(for: "n2"))
        var cleanedUp = own
        cleanedUp.by = "n2"
        #expect(!cleanedUp.isShort(for: "n1"))
        #expect(!StreamEntry(event: "node-lost", node: "n1", seq: 0, timeMS: 1).isShort(for: "n1"))
    }

    @Test func everyScriptTouchesOnlyItsKeys() {
        // Redis Cluster refuses a script that names keys it was not given: none builds a key from
        // anything but KEYS, except claim's PUBLISH channel (channels are not keys).
        for script in Script.allCases {
            #expect(!script.source.contains("redis.call('GET', ARGV"))
            #expect(!script.source.contains("redis.call('DEL', ARGV"))
        }
    }
}

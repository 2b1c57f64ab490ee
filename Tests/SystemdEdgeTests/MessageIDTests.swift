// MessageID: one fixed, well-formed, distinct id per event kind.
import SystemdEdge
import Testing

@Suite struct MessageIDTests {
    @Test func coversEveryEventKind() {
        #expect(
            MessageID.all.map(\.event) == [
                "online", "offline", "replaced", "overload", "started", "stopping", "reloaded", "ready", "reloading",
                "auth-failed", "tls-failed",
            ])
    }

    @Test func idsAre128BitLowercaseHexAndDistinct() {
        for (event, id) in MessageID.all {
            #expect(id.wholeMatch(of: /[0-9a-f]{32}/) != nil, "\(event): \(id)")
        }
        #expect(Set(MessageID.all.map(\.id)).count == MessageID.all.count)
    }

    @Test func looksUpByEvent() {
        #expect(MessageID.forEvent("online") == "ad4b732702ea43daa5299e706eacf0f2")
        #expect(MessageID.forEvent("reloading") == "4d200f7bb66840a5b1f023288efec0f5")
        #expect(MessageID.forEvent("auth-failed") == "e499d97c39634fae9930fa59bcbb416b")
        #expect(MessageID.forEvent("rotated") == nil)
        #expect(MessageID.forEvent("Online") == nil)
    }
}

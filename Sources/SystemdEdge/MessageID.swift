// The journal MESSAGE_ID of each event kind: fixed 128-bit ids, generated once and never changed, so
// `journalctl MESSAGE_ID=…` and a message catalog keep finding the same events across releases.

public enum MessageID {
    /// Every event kind with its id (32 lowercase hex digits), for generating and checking a catalog file.
    public static let all: [(event: String, id: String)] = [
        ("online", "ad4b732702ea43daa5299e706eacf0f2"),
        ("offline", "c09e4a18041d499f8ec3937dbf68862e"),
        ("replaced", "5c970555d91746a1be6f30222537a5a7"),
        ("overload", "4a8f1dff045b49fe84b356cd36e05545"),
        ("started", "63ae2115db8346f5a0f571c9ac6453df"),
        ("stopping", "454004f66d5f4bd5b9774f7d960bef55"),
        ("reloaded", "7565284ad028475e8996266bfab4e3d1"),
        ("ready", "bf3292b16b9e446b947522d55be84a9d"),
        ("reloading", "4d200f7bb66840a5b1f023288efec0f5"),
        ("auth-failed", "e499d97c39634fae9930fa59bcbb416b"),
        ("tls-failed", "364513bec0ec4e4e85150cd08f66c1a2"),
    ]

    /// The id for the `event` metadata value `name`, or nil for an event without one.
    /// A linear search: eleven entries, and only journald entries look them up.
    public static func forEvent(_ name: String) -> String? {
        all.first { $0.event == name }?.id
    }
}

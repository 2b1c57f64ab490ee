// The answer to `reload` when the new configuration was read and applied. Keys that only a restart
// can change (listen, workers, the control socket) are named; the running value of each stays.
// A file that cannot be read or is invalid is an error answer (`reload-failed`) instead.
//
//   {"ok":true,"outcome":"applied","restart_required":["listen"],"message":"…"}

public struct ReloadReport: Sendable, Equatable {
    public var restartRequired: [String]
    public var message: String

    public init(restartRequired: [String], message: String) {
        self.restartRequired = restartRequired
        self.message = message
    }

    public var json: JSONObject {
        var object = JSONObject(["ok": .bool(true), "outcome": .string("applied")])
        object["restart_required"] = .array(restartRequired.map { .string($0) })
        object["message"] = .string(message)
        return object
    }
}

extension ReloadReport: Decodable {
    enum CodingKeys: String, CodingKey {
        case restartRequired = "restart_required"
        case message
    }
}

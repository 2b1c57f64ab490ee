// How the bench's clients prove their ids when the server has auth on (--secret-file, --challenge):
// the device key from the secret, sent as token= in HELLO or used to answer a CHALLENGE.
import DeviceKeys
import WireProtocol

/// Auth as the bench's clients do it: none, the replayable token in HELLO, or challenge-response.
enum FleetAuth {
    case off
    case token(secret: [UInt8])
    case challenge(secret: [UInt8])
}

extension Fleet {
    /// CHALLENGE: `AUTH <mac>` from the device key, as a device computes it. False if the client was ended.
    func answer(_ client: Int, nonce: String) -> Bool {
        guard case .challenge(let secret) = auth else {
            end(client, .refused("unexpected-challenge"))
            return false
        }
        output.removeAll(keepingCapacity: true)
        let key = DeviceKey.token(secret: secret, id: id(of: client))
        RequestLine.appendAuth(mac: DeviceKey.challengeResponse(deviceKey: key, nonce: nonce), to: &output)
        return send(client)
    }
}

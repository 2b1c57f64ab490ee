// The key layout other programs read (docs/design.md, "Cluster: keys"): names, hash tags, the
// SCAN pattern, and which names may become part of a key.
import ClusterSchema
import Testing

@Suite struct ClusterKeysTests {
    let keys = ClusterKeys(prefix: "hb:")

    @Test func namesCarryHashTags() {
        #expect(keys.client("dev-1") == "hb:client:{dev-1}")
        #expect(keys.lease("n1") == "hb:node:{n1}")
        #expect(keys.ids("n1") == "hb:node:{n1}:ids")
        #expect(keys.reaper("n1") == "hb:node:{n1}:reaper")
        #expect(keys.takeoverChannel("n1") == "hb:node:{n1}:takeover")
        #expect(keys.nodes == "hb:{nodes}")
        #expect(keys.events == "hb:events")
    }

    @Test func idComesBackFromItsKey() {
        #expect(keys.id(inClientKey: "hb:client:{a:b@c}") == "a:b@c")
        #expect(keys.id(inClientKey: "hb:client:{}") == nil)
        #expect(keys.id(inClientKey: "other:client:{x}") == nil)
        #expect(keys.id(inClientKey: "hb:node:{x}") == nil)
    }

    @Test func scanPatternEscapesGlobCharacters() {
        #expect(keys.clientPattern == "hb:client:\\{*\\}")
        #expect(ClusterKeys(prefix: "a*b:").clientPattern == "a\\*b:client:\\{*\\}")
    }

    @Test(arguments: [
        ("node-1", true), ("n1.example.net", true), ("", false), ("a b", false), ("x{y}", false), ("q\"", false),
        (String(repeating: "n", count: 64), true), (String(repeating: "n", count: 65), false), ("é", false),
    ])
    func validNames(name: String, isValid: Bool) {
        #expect(ClusterKeys.isValidName(name) == isValid)
    }

    @Test func emptyPrefixIsAllowedWhereAsked() {
        #expect(ClusterKeys.isValidName("", allowEmpty: true))
    }
}

// swift-tools-version:6.1
// libFuzzer targets for every parser that reads untrusted bytes: a client's lines, a PROXY header, a server's
// lines (a client reads them), a control request, the metrics endpoint's HTTP head and the config file.
// A separate package so the project's own build never compiles them; `make fuzz` builds it with
// `-sanitize=fuzzer,address` in .build-fuzz and runs each target (see docs/fuzzing.md).
//
// It depends on the root package by path; the parsers it feeds must be library products there.
import PackageDescription

// The package that provides WireProtocol and Primitives: the Swift client's own (clients/swift).
let wireProtocol = (name: "heartbeat-client", path: "../clients/swift")

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["CLibFuzzer"] + dependencies)
}

let package = Package(
    name: "heartbeatd-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, because a path dependency's identity is its folder's name, which differs per checkout.
        .package(name: "heartbeatd", path: "..")
    ] + (wireProtocol.name == "heartbeatd" ? [] : [.package(name: wireProtocol.name, path: wireProtocol.path)]),
    targets: [
        // libFuzzer's driver for a target's main (SwiftPM gives each executable its own main).
        .target(name: "CLibFuzzer"),
        fuzzTarget("fuzz-request", [.product(name: "WireProtocol", package: wireProtocol.name)]),
        fuzzTarget("fuzz-proxy-header", [.product(name: "WireProtocol", package: wireProtocol.name)]),
        fuzzTarget("fuzz-server-line", [.product(name: "WireProtocol", package: wireProtocol.name)]),
        fuzzTarget("fuzz-control-request", [.product(name: "ControlProtocol", package: "heartbeatd")]),
        fuzzTarget("fuzz-http-head", [.product(name: "HTTPHead", package: "heartbeatd")]),
        fuzzTarget("fuzz-config", [.product(name: "HeartbeatConfig", package: "heartbeatd")]),
    ]
)

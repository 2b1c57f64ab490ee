// swift-tools-version:6.1
// Microbenchmarks for heartbeatd (ordo-one/benchmark): the timer wheel against a binary heap,
// line framing and parsing, and one heartbeat through the server core, with malloc counts.
// A separate package so the project's own build and CI never compile it. Run from this folder:
//
//     swift package --disable-sandbox --scratch-path .build-benchmark benchmark --target HeartbeatBenchmarks
//     swift build -c release -Xswiftc -enable-testing --product session-scale && .build/release/session-scale
//
// (two scratch paths: session-scale's modules are built with -enable-testing, the benchmark plugin's are not,
// and one path would rebuild everything at each switch; `--target`, because the plugin builds every
// executable target it is not told to skip, session-scale included). It depends on the root package by path; the modules
// it measures must be library products there.
import PackageDescription

let package = Package(
    name: "heartbeatd-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, because a path dependency's identity is its folder's name, which differs per checkout.
        .package(name: "heartbeatd", path: ".."),
        .package(name: "heartbeat-client", path: "../clients/swift"),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "HeartbeatBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TimerWheel", package: "heartbeatd"),
                .product(name: "WireProtocol", package: "heartbeat-client"),
                .product(name: "ServerCore", package: "heartbeatd"),
                .product(name: "Posix", package: "heartbeatd"),
                .product(name: "HeartbeatConfig", package: "heartbeatd"),
            ],
            path: "Benchmarks/HeartbeatBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // A million sessions in one real worker, no sockets: a plain executable, because it reaches the
        // worker's internals through `@testable import` (build with -enable-testing, see docs/benchmarks.md).
        // Outside Benchmarks/, where the benchmark plugin would take it for one of its own and build it.
        .executableTarget(
            name: "session-scale",
            dependencies: [
                .product(name: "ServerCore", package: "heartbeatd"),
                .product(name: "Posix", package: "heartbeatd"),
                .product(name: "EventLoop", package: "heartbeatd"),
                .product(name: "WireProtocol", package: "heartbeat-client"),
                .product(name: "Primitives", package: "heartbeat-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "SessionScale"
        ),
    ]
)

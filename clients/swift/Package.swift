// swift-tools-version:6.1
// heartbeat-client: the Swift client library for heartbeatd, in its own package so that an app or a service
// that reports to heartbeatd pulls SwiftNIO, NIOSSL, swift-service-lifecycle and swift-log, and none of the
// daemon's dependencies. The daemon's package (the repository root) depends on this one by path for the two
// pure modules both sides share: Primitives and WireProtocol.
import PackageDescription

let package = Package(
    name: "heartbeat-client",
    platforms: [.macOS(.v13), .iOS(.v16), .tvOS(.v16), .watchOS(.v9)],
    products: [
        .library(name: "HeartbeatClient", targets: ["HeartbeatClient"]),
        .library(name: "WireProtocol", targets: ["WireProtocol"]),
        .library(name: "Primitives", targets: ["Primitives"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-transport-services", from: "1.28.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // HMAC-SHA256 for challenge auth: CryptoKit on Apple platforms, BoringSSL on Linux (docs/design.md).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // Pure: durations as text, host:port, the client-id rule. Imports nothing.
        .target(name: "Primitives"),
        // Both directions of protocol v1, pure: the server's parser and replies, the client's lines.
        .target(name: "WireProtocol", dependencies: ["Primitives"]),
        // The client: SwiftNIO (NIOPosix on Linux, Network.framework through NIOTransportServices on Apple
        // platforms), TLS through NIOSSL, a swift-service-lifecycle Service.
        .target(
            name: "HeartbeatClient",
            dependencies: [
                "Primitives", "WireProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTransportServices", package: "swift-nio-transport-services"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)

// swift-tools-version:6.1
// heartbeatd: a Linux daemon that holds long-lived TCP heartbeat connections and reaps dead ones.
// Imports point one way: executables → ServerCore, SystemdEdge → EventLoop → Posix, TimerWheel.
import PackageDescription

// TOMLKit imports Foundation; without this, Foundation's String extensions leak into every module that
// sees TOMLKit (a `contains(":")` once linked all of Foundation and ICU, ~40 MB, into heartbeatd).
let noLeakedMembers: [SwiftSetting] = [.enableUpcomingFeature("MemberImportVisibility")]

// The modules the client package (clients/swift) provides.
func hbClient(_ name: String) -> Target.Dependency { .product(name: name, package: "heartbeat-client") }
let primitives = hbClient("Primitives")
let wireProtocol = hbClient("WireProtocol")

let package = Package(
    name: "heartbeatd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "heartbeatd", targets: ["heartbeatd"]),
        .executable(name: "heartbeatctl", targets: ["heartbeatctl"]),
        .executable(name: "heartbeat-agent", targets: ["heartbeat-agent"]),
        .executable(name: "heartbeat-bench", targets: ["heartbeat-bench"]),
        // For the microbenchmarks package in Benchmarks/, which measures these modules from outside.
        .library(name: "TimerWheel", targets: ["TimerWheel"]),
        .library(name: "ServerCore", targets: ["ServerCore"]),
        // session-scale drives a real Worker, whose loop and mailbox are EventLoop types.
        .library(name: "EventLoop", targets: ["EventLoop"]),
        // ServerCore's Settings and listen addresses are Posix values (TCPKeepalive, SocketAddress).
        .library(name: "Posix", targets: ["Posix"]),
        .library(name: "HeartbeatConfig", targets: ["HeartbeatConfig"]),
        // For the fuzz targets in Fuzz/, which feed these parsers untrusted bytes from outside.
        .library(name: "ControlProtocol", targets: ["ControlProtocol"]),
        .library(name: "HTTPHead", targets: ["HTTPHead"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // The client library's package: HeartbeatClient and the pure modules the daemon shares with it
        // (Primitives, WireProtocol) live there, so a client does not pull the daemon's dependencies.
        .package(name: "heartbeat-client", path: "clients/swift"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // For HeartbeatClientTests only: a custom resolver (Happy Eyeballs, a DNS that never answers), TLS options.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The kernel interfaces Swift's Glibc module does not export (epoll, timerfd, signalfd, eventfd, accept4).
        .target(name: "CLinux"),
        // libsystemd: sd_notify, sd_listen_fds, sd_watchdog_enabled, sd_journal_sendv.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // The system's OpenSSL 3, libssl and libcrypto: TLS listeners, HMAC, CRYPTO_memcmp, RAND_bytes.
        // The one crypto library; shim.h wraps the few macros Swift cannot call.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // hiredis: Redis's own C client; the cluster link drives its asynchronous API on an EventLoop.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // Pure: no Glibc, no Foundation, no clock.
        .target(name: "TimerWheel"),
        // The device-key derivation (token = HMAC-SHA256(secret, id)), compared in constant time.
        .target(name: "DeviceKeys", dependencies: ["COpenSSL"]),
        // The only place that calls libc.
        .target(name: "Posix", dependencies: ["CLinux"]),
        // TLS over OpenSSL's libssl: a context (certificate, key, client CA) and non-blocking streams.
        .target(name: "TLS", dependencies: ["COpenSSL", "Posix"]),
        .target(name: "EventLoop", dependencies: ["Posix", "TimerWheel"]),
        // One buffered connection on an EventLoop: the control socket's and the metrics endpoint's.
        .target(name: "BufferedIO", dependencies: ["EventLoop", "Posix", "TimerWheel"]),
        .target(
            name: "HeartbeatConfig", dependencies: [primitives, "Posix", "ClusterSchema", "TOMLKit"],
            swiftSettings: noLeakedMembers
        ),
        // hiredis's replies as Swift values, Redis endpoints, and the blocking client of heartbeatctl and tests.
        .target(name: "Hiredis", dependencies: ["CHiredis", primitives]),
        // The cluster's layout in Redis (keys, records, stream entries, scripts): pure, shared with heartbeatctl.
        .target(name: "ClusterSchema", dependencies: [primitives]),
        // The daemon's link to Redis: presence, leases, takeover, the event stream, on the supervisor's loop.
        .target(
            name: "Cluster",
            dependencies: [
                "CHiredis", "Hiredis", "ClusterSchema", "EventLoop", "Posix", "ControlProtocol",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The state a restart or upgrade hands to the next process: a versioned, checksummed blob. Pure.
        .target(name: "Handoff"),
        // The control socket's requests and answers, shared by the daemon and heartbeatctl.
        .target(name: "ControlProtocol", dependencies: [primitives]),
        // The head of an HTTP/1.x request (the metrics endpoint's), pure so it can be fuzzed alone.
        .target(name: "HTTPHead"),
        .target(
            name: "ServerCore",
            dependencies: [
                "EventLoop", "Posix", "TimerWheel", primitives, wireProtocol, "ControlProtocol", "Handoff", "TLS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The client side (the library is clients/swift): the device agent and the load generator.
        .executableTarget(
            name: "heartbeat-agent",
            dependencies: [
                hbClient("HeartbeatClient"), primitives,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "heartbeat-bench",
            dependencies: [
                "DeviceKeys", "EventLoop", "Posix", primitives, wireProtocol, "TLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "heartbeatctl",
            dependencies: [
                "ControlProtocol", "DeviceKeys", "Posix", primitives, "Hiredis", "ClusterSchema",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "SystemdEdge",
            dependencies: ["CSystemd", "Posix", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "heartbeatd",
            dependencies: [
                "ServerCore", "SystemdEdge", "HeartbeatConfig", "DeviceKeys", "Posix", "EventLoop", primitives,
                "BufferedIO", "Cluster", "Hiredis", "Handoff", "HTTPHead", "TLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: noLeakedMembers
        ),

        .testTarget(name: "TimerWheelTests", dependencies: ["TimerWheel", "TestSupport"]),
        .testTarget(name: "WireProtocolTests", dependencies: [wireProtocol, "TestSupport"]),
        .testTarget(name: "PosixTests", dependencies: ["Posix", "TestSupport"]),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop", "Posix"]),
        .testTarget(name: "BufferedIOTests", dependencies: ["BufferedIO", "EventLoop", "Posix"]),
        .testTarget(
            name: "ServerCoreTests",
            dependencies: [
                "ServerCore", "Posix", "CLinux", "EventLoop", "DeviceKeys", "ControlProtocol", "TestSupport",
                "Handoff", primitives,
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "HeartbeatConfigTests", dependencies: ["HeartbeatConfig", "CLinux"]),
        .testTarget(
            name: "SystemdEdgeTests",
            dependencies: [
                "SystemdEdge", "systemd-edge-probe", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "heartbeatd", "heartbeatctl", "heartbeat-bench", "DeviceKeys", "Posix", "CLinux", "TestSupport",
            ]),
        // Test support: the process SystemdEdgeTests run inside a journald sandbox and under systemd-socket-activate.
        .executableTarget(
            name: "systemd-edge-probe",
            dependencies: ["SystemdEdge", "Posix", .product(name: "Logging", package: "swift-log")],
            path: "Tests/Support/systemd-edge-probe"
        ),
        // Test support shared by the test targets: the deadline poll, child processes without Foundation's
        // Process, and the one harness that runs the real heartbeatd.
        .target(name: "TestSupport", dependencies: ["CLinux", "TLS", "Posix"], path: "Tests/TestSupport"),
        .testTarget(name: "ControlProtocolTests", dependencies: ["ControlProtocol"]),
        .testTarget(name: "HandoffTests", dependencies: ["Handoff"]),
        .testTarget(name: "HTTPHeadTests", dependencies: ["HTTPHead"]),
        .testTarget(name: "PrimitivesTests", dependencies: [primitives]),
        .testTarget(name: "ClusterSchemaTests", dependencies: ["ClusterSchema"]),
        .testTarget(
            name: "ClusterTests",
            dependencies: ["Cluster", "Hiredis", "ClusterSchema", "EventLoop", "Posix", "TestSupport"]),
        // Real Redis, real daemons: a redis-server of its own on a free port and two or three heartbeatd nodes.
        .testTarget(
            name: "ClusterDaemonTests",
            dependencies: ["heartbeatd", "heartbeatctl", "Hiredis", "ClusterSchema", "Posix", "TestSupport"]),
        .testTarget(name: "DeviceKeysTests", dependencies: ["DeviceKeys"]),
        .testTarget(name: "TLSTests", dependencies: ["TLS", "Posix", "TestSupport"]),
        .testTarget(
            name: "HeartbeatClientTests",
            dependencies: [
                hbClient("HeartbeatClient"), "heartbeatd", "heartbeat-bench", "heartbeat-agent", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]),
    ]
)

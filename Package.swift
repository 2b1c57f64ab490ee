// swift-tools-version:6.1
// heartbeatd: a Linux daemon that holds long-lived TCP heartbeat connections and reaps dead ones.
// Imports point one way: executables → ServerCore, SystemdEdge → EventLoop → Posix, TimerWheel.
import PackageDescription

let package = Package(
    name: "heartbeatd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "heartbeatd", targets: ["heartbeatd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
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
        // Pure: no Glibc, no Foundation, no clock.
        .target(name: "TimerWheel"),
        .target(name: "WireProtocol"),
        // The only place that calls libc.
        .target(name: "Posix", dependencies: ["CLinux"]),
        .target(name: "EventLoop", dependencies: ["Posix", "TimerWheel"]),
        .target(name: "HeartbeatConfig", dependencies: ["TOMLKit"]),
        .target(
            name: "ServerCore",
            dependencies: [
                "EventLoop", "Posix", "TimerWheel", "WireProtocol", "HeartbeatConfig",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SystemdEdge",
            dependencies: ["CSystemd", "Posix", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "heartbeatd",
            dependencies: [
                "ServerCore", "SystemdEdge", "HeartbeatConfig", "Posix",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(name: "TimerWheelTests", dependencies: ["TimerWheel"]),
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol"]),
        .testTarget(name: "PosixTests", dependencies: ["Posix"]),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop", "Posix"]),
        .testTarget(name: "HeartbeatConfigTests", dependencies: ["HeartbeatConfig"]),
        .testTarget(name: "SystemdEdgeTests", dependencies: ["SystemdEdge", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "DaemonTests", dependencies: ["heartbeatd", "Posix", "CLinux"]),
    ]
)

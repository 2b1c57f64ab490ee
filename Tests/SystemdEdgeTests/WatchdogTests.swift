// Watchdog.interval from WATCHDOG_USEC and WATCHDOG_PID, as systemd sets them for WatchdogSec=.
import Glibc
import SystemdEdge
import Testing

extension ProcessWide {
    @Suite struct WatchdogTests {
        enum Owner: CustomStringConvertible {
            case unset, thisProcess, otherProcess
            var pid: String? {
                switch self {
                case .unset: nil
                case .thisProcess: "\(getpid())"
                case .otherProcess: "\(getpid() + 1)"
                }
            }
            var description: String {
                switch self {
                case .unset: "WATCHDOG_PID unset"
                case .thisProcess: "WATCHDOG_PID = own pid"
                case .otherProcess: "WATCHDOG_PID = other pid"
                }
            }
        }

        @Test(arguments: [
            ("2000000", Owner.unset, Duration?.some(.seconds(2))),
            ("500000", .thisProcess, .milliseconds(500)),
            ("500000", .otherProcess, nil),
            ("0", .unset, nil),
            ("not-a-number", .unset, nil),
        ])
        func interval(microseconds: String, owner: Owner, expected: Duration?) {
            withEnvironment(["WATCHDOG_USEC": microseconds, "WATCHDOG_PID": owner.pid]) {
                #expect(Watchdog.interval() == expected)
            }
        }

        @Test func isNilWithoutWatchdogUsec() {
            withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) {
                #expect(Watchdog.interval() == nil)
            }
        }
    }
}

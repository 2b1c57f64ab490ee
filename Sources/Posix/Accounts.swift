// Users and groups, for the control socket's credential check: the daemon's own uid, a group's id by
// name, and the groups a user belongs to (the group database's view, as login would set them).
import Glibc

public enum Accounts {
    /// The corresponding C function is `geteuid(2)`.
    public static func effectiveUserID() -> UInt32 { UInt32(geteuid()) }

    /// The id of the group called `name`, or nil when there is none.
    /// The corresponding C function is `getgrnam_r(3)`.
    public static func groupID(named name: String) -> UInt32? {
        var group = Glibc.group()
        var found: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let status = getgrnam_r(name, &group, &buffer, buffer.count, &found)
        guard status == 0, found != nil else { return nil }
        return UInt32(group.gr_gid)
    }

    /// The name of user `uid`, or nil when the user database does not know it.
    /// The corresponding C function is `getpwuid_r(3)`.
    public static func userName(of uid: UInt32) -> String? {
        var user = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let status = getpwuid_r(uid_t(uid), &user, &buffer, buffer.count, &found)
        guard status == 0, found != nil, let name = user.pw_name else { return nil }
        return String(cString: name)
    }

    /// Every group `user` is in: `primary` plus the supplementary groups listed for it.
    /// The corresponding C function is `getgrouplist(3)`.
    public static func groups(ofUser user: String, primary: UInt32) -> [UInt32] {
        var count: Int32 = 32
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var found = count
            if getgrouplist(user, gid_t(primary), &groups, &found) >= 0 {
                return groups.prefix(Int(found)).map { UInt32($0) }
            }
            // Too small: `found` now holds the number needed.
            guard found > count else { return [primary] }
            count = found
        }
    }
}

// The Lua scripts the daemon loads once (SCRIPT LOAD) and runs by SHA (EVALSHA, loaded again after
// NOSCRIPT, e.g. when Redis restarted). Each touches the keys of one slot only, so each is atomic
// on Redis Cluster as well. A key of the wrong type is answered with -2, never an error, so the
// daemon can log and skip it. The two that run for every presence event (claim, release) learn the
// type from their first read's WRONGTYPE (`redis.pcall`) rather than from a TYPE call of their own.

public enum Script: String, Sendable, CaseIterable {
    /// KEYS: client record. ARGV: the record's values (5, `PresenceRecord.values`).
    /// Writes the record (the script names the fields: they do not cross the wire, and Redis builds a
    /// shorter ARGV); when another node held the id, tells it on its takeover channel ("<id> <its
    /// session>") and returns that node's name; 0 when nobody else held it. The key prefix and the id
    /// for that message come from the key (`<prefix>client:{<id>}`; a prefix has no brace), so the
    /// usual claim, with nobody to tell, carries two words fewer.
    case claim
    /// KEYS: client record. ARGV: session. Compare-and-delete: 1 deleted, 0 not this session's.
    case release
    /// KEYS: client record. ARGV: the record's fields (12). Re-announce without taking over:
    /// 1 written (was absent or an older session of this node), 0 unchanged, -1 another node holds it.
    case reannounce
    /// KEYS: client record. ARGV: node. Deletes a lost node's record: {session, peer, seq} or 0.
    case drop
    /// KEYS: lease, reaper. ARGV: run, lease ms. -1 while a survivor is cleaning up after this node;
    /// 1 renewed; 0 acquired afresh (it had expired, or belonged to an earlier run).
    case lease
    /// KEYS: lease, reaper. ARGV: this node, lease ms. 1 when the lease is gone and this node now
    /// holds the reaper lock (exactly one survivor gets it), else 0.
    case reap
    /// KEYS: the events stream. ARGV: the cap (`MAXLEN ~`), the entry version, a node name or "", then
    /// the entries: with a node name, seven values per entry (the cluster link's `Argv.append(_:isShort:)`:
    /// that node's own entry, without `by` or `count`), else ten (the seven, then
    /// node, by, count). One XADD per entry, in order, with the fields `StreamEntry.fields` names: a loop
    /// turn's entries cost one command on the wire, without the field names. The count added. Each ARGV
    /// word costs Redis about 0.1 µs: the node's own entries (nearly all) leave out three. The usual entry
    /// is one direct call; building a table to unpack costs Redis about 0.5 µs more per entry.
    case append

    public var source: String {
        switch self {
        case .claim:
            """
            local old = redis.pcall('HMGET', KEYS[1], 'node', 'session')
            if old.err then if string.find(old.err, 'WRONGTYPE', 1, true) then return -2 end return old end
            redis.call('HSET', KEYS[1], 'v', '\(PresenceRecord.version)', 'node', ARGV[1], 'session', ARGV[2],
              'peer', ARGV[3], 'since', ARGV[4], 'seq', ARGV[5])
            if old[1] and old[1] ~= ARGV[1] then
              local open = string.find(KEYS[1], '{', 1, true)
              redis.call('PUBLISH', string.sub(KEYS[1], 1, open - 8) .. 'node:{' .. old[1] .. '}:takeover',
                string.sub(KEYS[1], open + 1, -2) .. ' ' .. (old[2] or ''))
              return old[1]
            end
            return 0
            """
        case .release:
            """
            local session = redis.pcall('HGET', KEYS[1], 'session')
            if type(session) == 'table' then
              if string.find(session.err, 'WRONGTYPE', 1, true) then return -2 end
              return session
            end
            if session == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
            return 0
            """
        case .reannounce:
            """
            local t = redis.call('TYPE', KEYS[1]).ok
            if t ~= 'hash' and t ~= 'none' then return -2 end
            local old = redis.call('HMGET', KEYS[1], 'node', 'session')
            if old[1] and old[1] ~= ARGV[4] then return -1 end
            if old[2] == ARGV[6] then return 0 end
            redis.call('HSET', KEYS[1], unpack(ARGV, 1, 12))
            return 1
            """
        case .drop:
            """
            local t = redis.call('TYPE', KEYS[1]).ok
            if t ~= 'hash' then if t == 'none' then return 0 end return -2 end
            local r = redis.call('HMGET', KEYS[1], 'node', 'session', 'peer', 'seq')
            if r[1] ~= ARGV[1] then return 0 end
            redis.call('DEL', KEYS[1])
            return {r[2] or '', r[3] or '', r[4] or '0'}
            """
        case .lease:
            """
            if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
            local current = redis.call('GET', KEYS[1])
            redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
            if current == ARGV[1] then return 1 end
            return 0
            """
        case .reap:
            """
            if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
            if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
            return 0
            """
        case .append:
            """
            local t = redis.call('TYPE', KEYS[1]).ok
            if t ~= 'stream' and t ~= 'none' then return -2 end
            local n = 0
            if ARGV[3] ~= '' then
              for i = 4, #ARGV, 7 do
                redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'v', ARGV[2], 'event', ARGV[i],
                  'node', ARGV[3], 'seq', ARGV[i + 1], 'time_ms', ARGV[i + 2], 'id', ARGV[i + 3],
                  'peer', ARGV[i + 4], 'reason', ARGV[i + 5], 'duration_ms', ARGV[i + 6])
                n = n + 1
              end
              return n
            end
            for i = 4, #ARGV, 10 do
              if ARGV[i + 8] == '' and ARGV[i] ~= 'node-lost' then
                redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'v', ARGV[2], 'event', ARGV[i],
                  'node', ARGV[i + 7], 'seq', ARGV[i + 1], 'time_ms', ARGV[i + 2], 'id', ARGV[i + 3],
                  'peer', ARGV[i + 4], 'reason', ARGV[i + 5], 'duration_ms', ARGV[i + 6])
              else
                local e = {'v', ARGV[2], 'event', ARGV[i], 'node', ARGV[i + 7], 'seq', ARGV[i + 1],
                  'time_ms', ARGV[i + 2], 'id', ARGV[i + 3], 'peer', ARGV[i + 4], 'reason', ARGV[i + 5],
                  'duration_ms', ARGV[i + 6]}
                if ARGV[i + 8] ~= '' then e[#e + 1] = 'by' e[#e + 1] = ARGV[i + 8] end
                if ARGV[i] == 'node-lost' then e[#e + 1] = 'count' e[#e + 1] = ARGV[i + 9] end
                redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(e))
              end
              n = n + 1
            end
            return n
            """
        }
    }
}

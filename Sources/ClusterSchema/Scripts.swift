// The Lua scripts the daemon loads once (SCRIPT LOAD) and runs by SHA (EVALSHA, loaded again after
// NOSCRIPT, e.g. when Redis restarted). Each but `turn` touches the keys of one slot only, so each is
// atomic on Redis Cluster as well; `turn`, a loop turn's changes in one call, is for a Redis that is not
// a cluster (the link asks `INFO cluster`). A key of the wrong type is answered with -2, never an error, so the
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
    /// A Redis that is not a Redis Cluster: a loop turn's claims, releases and stream entries, in order,
    /// and its set changes, in one call (its keys span many slots, which only a single Redis allows).
    /// KEYS: the stream, this node's set of ids, then the record of each claim and release, in order.
    /// ARGV: the cap, the entry version, this node, its run, how many ids join this node's set and how
    /// many leave it, those ids, then the changes, each a letter and its values:
    ///   `c` seq since id peer: `claim`'s record (its session `<run>.<seq>`) and its `online` entry;
    ///   `r` online-seq, then the offline's entry as `append`'s seven values: `release`'s
    ///     compare-and-delete, then the entry, as `replaced` when the record was not this session's;
    ///   `e` seven values, `E` ten: an entry, as `append` takes it.
    /// Returns 0, or {change, note, …} for the unusual: a claim's note is the node it took the id from
    /// (told, as `claim` tells it), -2 a record that is not a hash, -3 another error; change 0 with -2:
    /// the stream is not a stream (no entry written).
    case turn

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
        case .turn:
            """
            local cap, v, node, run = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
            local t = redis.call('TYPE', KEYS[1]).ok
            local stream = t == 'stream' or t == 'none'
            local notes = {}
            if not stream then notes[1] = 0 notes[2] = -2 end
            local function note(change, err)
              notes[#notes + 1] = change
              if string.find(err, 'WRONGTYPE', 1, true) then notes[#notes + 1] = -2 else notes[#notes + 1] = -3 end
            end
            local i = 7
            local n = tonumber(ARGV[5])
            if n > 0 then redis.pcall('SADD', KEYS[2], unpack(ARGV, i, i + n - 1)) i = i + n end
            n = tonumber(ARGV[6])
            if n > 0 then redis.pcall('SREM', KEYS[2], unpack(ARGV, i, i + n - 1)) i = i + n end
            local last, k, c = #ARGV, 3, 0
            while i <= last do
              c = c + 1
              local op = ARGV[i]
              if op == 'c' then
                local seq, since, id, peer = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
                local old = redis.pcall('HMGET', KEYS[k], 'node', 'session')
                if old.err then note(c, old.err) else
                  redis.call('HSET', KEYS[k], 'v', '\(PresenceRecord.version)', 'node', node, 'session', run .. '.' .. seq,
                    'peer', peer, 'since', since, 'seq', seq)
                  if old[1] and old[1] ~= node then
                    redis.call('PUBLISH', string.sub(KEYS[1], 1, -7) .. 'node:{' .. old[1] .. '}:takeover',
                      id .. ' ' .. (old[2] or ''))
                    notes[#notes + 1] = c
                    notes[#notes + 1] = old[1]
                  end
                end
                if stream then
                  redis.call('XADD', KEYS[1], 'MAXLEN', '~', cap, '*', 'v', v, 'event', 'online', 'node', node,
                    'seq', seq, 'time_ms', since, 'id', id, 'peer', peer, 'reason', '', 'duration_ms', '0')
                end
                k = k + 1
                i = i + 5
              elseif op == 'r' then
                local event = ARGV[i + 2]
                local session = redis.pcall('HGET', KEYS[k], 'session')
                if type(session) == 'table' then note(c, session.err)
                elseif session == run .. '.' .. ARGV[i + 1] then redis.call('DEL', KEYS[k])
                else event = 'replaced' end
                if stream then
                  redis.call('XADD', KEYS[1], 'MAXLEN', '~', cap, '*', 'v', v, 'event', event, 'node', node,
                    'seq', ARGV[i + 3], 'time_ms', ARGV[i + 4], 'id', ARGV[i + 5], 'peer', ARGV[i + 6],
                    'reason', ARGV[i + 7], 'duration_ms', ARGV[i + 8])
                end
                k = k + 1
                i = i + 9
              elseif op == 'e' then
                if stream then
                  redis.call('XADD', KEYS[1], 'MAXLEN', '~', cap, '*', 'v', v, 'event', ARGV[i + 1], 'node', node,
                    'seq', ARGV[i + 2], 'time_ms', ARGV[i + 3], 'id', ARGV[i + 4], 'peer', ARGV[i + 5],
                    'reason', ARGV[i + 6], 'duration_ms', ARGV[i + 7])
                end
                i = i + 8
              else
                if stream then
                  local e = {'v', v, 'event', ARGV[i + 1], 'node', ARGV[i + 8], 'seq', ARGV[i + 2],
                    'time_ms', ARGV[i + 3], 'id', ARGV[i + 4], 'peer', ARGV[i + 5], 'reason', ARGV[i + 6],
                    'duration_ms', ARGV[i + 7]}
                  if ARGV[i + 9] ~= '' then e[#e + 1] = 'by' e[#e + 1] = ARGV[i + 9] end
                  if ARGV[i + 1] == 'node-lost' then e[#e + 1] = 'count' e[#e + 1] = ARGV[i + 10] end
                  redis.call('XADD', KEYS[1], 'MAXLEN', '~', cap, '*', unpack(e))
                end
                i = i + 11
              end
            end
            if #notes == 0 then return 0 end
            return notes
            """
        }
    }
}

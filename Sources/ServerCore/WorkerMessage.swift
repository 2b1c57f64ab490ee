// What crosses threads to a worker: each is posted on its Mailbox and handled on its loop.

enum WorkerMessage: Sendable {
    /// Another worker accepted a HELLO for an id this worker's session held: end that session.
    case replace(slot: Int32, serial: UInt32)
    /// A reload: the settings that can change live.
    case settings(Settings)
    /// SIGTERM: stop accepting, tell every client `BYE shutdown`, wait up to the drain timeout.
    case drain
    /// The watchdog's probe: handling it proves the worker's loop still turns.
    case ping
    /// A control socket query or kick; the answer goes back through the query's reply closure.
    case control(ControlQuery)
    /// Restart or upgrade: stop accepting, end what cannot be handed over (paced), freeze the rest and
    /// reply with their records (Worker+Handoff.swift); `acrossExec`: the sockets must stay open across
    /// an `execve` (an upgrade), not only go in flight (a stop).
    case handOff(Pacing, acrossExec: Bool, reply: @Sendable (WorkerHandoff) -> Void)
    /// The upgrade failed (the exec did not happen): serve the frozen sessions again.
    case resume
    /// The next round of a takeover's restore, posted by the worker to itself (Worker+Handoff.swift).
    case restoreMore
}

/// Decides whether a listener may take one more connection: a connection cap. A listener asks it
/// before each `accept`; while it says no, connections wait in the kernel's backlog (clients see a
/// slow connect, not a refusal) and the listener looks again after a short pause.
public protocol AcceptGate: AnyObject, Sendable {
    /// Takes a place for one connection, or returns false when none is free.
    func enter() -> Bool
    /// Gives a place back: the connection closed (or the accept that took it failed).
    func leave()
}

/// Why a listener stopped accepting for a while.
public enum AcceptPause: Equatable, Sendable {
    /// Its `AcceptGate` had no place left.
    case connectionLimit
    /// `accept` failed for want of descriptors or kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), or
    /// the `DescriptorBudget` is spent (reported as EMFILE): the connection stays in the backlog, and
    /// trying again at once would spin.
    case outOfResources(errno: Int32)
}

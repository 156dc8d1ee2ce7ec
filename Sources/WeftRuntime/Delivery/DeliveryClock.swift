public import Foundation

/// The time a dispatcher measures its delivery leases in. Leases are wall-clock instants, because the store compares
/// them with the claims of other nodes; the waits between renewals are measured in the same time. Production uses
/// ``SystemDeliveryClock``; a test drives one of its own, so a lease can run out without waiting for it.
public protocol DeliveryClock: Sendable {
    /// The current instant.
    func now() -> Date
    /// Waits `duration`; throws `CancellationError` when the waiting task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// The system's wall clock and `Task.sleep`.
public struct SystemDeliveryClock: DeliveryClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

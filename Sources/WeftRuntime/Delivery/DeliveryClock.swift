public import Foundation
import WeftCore

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

extension DeliveryClock {
    /// `operation`'s answer, or `nil` when `deadline` on this clock comes first: the operation is then cancelled and
    /// left to end on its own, so an operation that ignores cancellation (a store call waiting in its driver) cannot
    /// hold the caller past the deadline.
    public func answer<T: Sendable>(
        by deadline: Date, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        let race = Race<T?>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                race.add(Task { await race.finish { try await operation() } })
                race.add(
                    Task {
                        let wait = max(0, deadline.timeIntervalSince(now()))
                        do { try await sleep(for: .milliseconds(Int64((wait * 1000).rounded(.up)))) } catch { return }
                        race.finish(.success(nil))
                    })
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }
}

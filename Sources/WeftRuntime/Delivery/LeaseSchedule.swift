public import Foundation
import WeftCore

/// When a delivery in flight renews the leases of its commands, and when it must give up because they are running
/// out unrenewed. Pure: instants are passed in.
///
/// A renewal is due a third of the lease after the last one (or the claim). A failed renewal is tried again after a
/// twelfth of the lease, and once only a sixth of the lease is left unrenewed the delivery stops, so that it has
/// stopped sending before another node can claim the commands.
public struct LeaseSchedule: Sendable, Hashable {
    public let lease: Duration
    /// Until when the commands are held, as far as this node knows.
    public private(set) var heldUntil: Date
    private var nextRenewal: Date

    public init(lease: Duration, claimedAt: Date) {
        self.lease = lease
        self.heldUntil = claimedAt.addingTimeInterval(lease.timeInterval)
        self.nextRenewal = claimedAt.addingTimeInterval((lease / 3).timeInterval)
    }

    /// The instant after which the delivery must not go on unrenewed.
    public var deadline: Date { heldUntil.addingTimeInterval(-(lease / 6).timeInterval) }

    /// When to wake next: for the next renewal, or at the deadline if that comes first.
    public var wake: Date { min(nextRenewal, deadline) }

    public func mustStop(at now: Date) -> Bool { now >= deadline }

    /// A renewal asked at `askedAt` was written: the commands are held a whole lease from then.
    public mutating func renewed(askedAt: Date) {
        heldUntil = askedAt.addingTimeInterval(lease.timeInterval)
        nextRenewal = askedAt.addingTimeInterval((lease / 3).timeInterval)
    }

    /// A renewal failed at `now` (the store did not answer or refused): try again soon.
    public mutating func renewalFailed(at now: Date) {
        nextRenewal = now.addingTimeInterval((lease / 12).timeInterval)
    }
}

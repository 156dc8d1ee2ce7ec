public import Foundation
public import Logging
public import WeftCore

/// Completes what a source's events leave out, from the source's API, before they are decoded (a Stripe invoice's
/// lines beyond the first 10). Best effort: the stored event is never changed, and one that cannot be completed now
/// is decoded as it came (its decoder keeps the totals right without what was left out).
public protocol EventEnricher: Sendable {
    /// Whether `event` may need completing. Called for every event of the system: it must be cheap.
    func mayNeed(_ event: InboxEvent) -> Bool
    /// `event`'s payload completed, or `nil` to decode it as it came.
    func completed(_ event: InboxEvent, logger: Logger) async -> Data?
}

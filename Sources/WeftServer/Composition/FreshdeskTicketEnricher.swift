import Foundation
import Logging
import Synchronization
import WeftConnectors
import WeftCore
import WeftRuntime

/// Reads the ticket of each Freshdesk ticket webhook that does not say when the ticket changed
/// (`FreshdeskTicketReader`), so that it is filed with the ticket's own `updated_at`.
///
/// The pipeline waits for an enricher, so this one never waits for Freshdesk: it reads within a budget of its own
/// (the desk's `ticket_reads`, by default one read a second, bursts of ten, beside its `rate_limit` for deliveries),
/// skips a read the budget has no room for, gives a read `readTimeout` at most, and after a `429` (for its
/// `Retry-After`) or a failed read (for `coolDown`) reads nothing. A webhook it skips is filed as it came, at the time
/// it arrived, as before this read existed; the next change of the ticket, or the catch-up, sets it right.
final class FreshdeskTicketEnricher: EventEnricher {
    static let coolDown = Duration.seconds(60)
    /// The longest one read may take (the desk's `timeout_seconds` when shorter): the batch waits for it.
    static let readTimeout = Duration.seconds(5)

    private let reader: FreshdeskTicketReader
    private let bucket: Mutex<TokenBucket>
    private let now: @Sendable () -> ContinuousClock.Instant

    init(
        reader: FreshdeskTicketReader, budget: RateLimit = DeskSystemConfiguration.defaultTicketReads,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.reader = reader
        self.now = now
        self.bucket = Mutex(TokenBucket(ratePerSecond: budget.perSecond, burst: budget.burst, now: now()))
    }

    func mayNeed(_ event: InboxEvent) -> Bool { event.type == DeskTicket.webhookEventType }

    func completed(_ event: InboxEvent, logger: Logger) async -> Data? {
        guard let request = FreshdeskTicketReader.request(for: event.payload) else { return nil }
        guard bucket.withLock({ $0.take(now: now()) }) else {
            logger.debug("Freshdesk ticket read skipped: its budget is spent; the webhook is filed as it came")
            return nil
        }
        do throws(FreshdeskError) {
            return try await reader.completing(request, logger: logger)
        } catch {
            guard error.kind != .cancelled else { return nil }
            let pause = error.kind == .rateLimited ? error.retryAfter ?? Self.coolDown : Self.coolDown
            bucket.withLock { $0.pause(for: pause, now: now()) }
            logger.warning(
                "could not read the ticket from Freshdesk; the webhook is filed as it came, at the time it arrived, and no ticket is read for a while",
                metadata: ["weft.error": "\(error)", "weft.pause_seconds": "\(pause.components.seconds)"])
            return nil
        }
    }
}

import Foundation
import Logging
import ServiceLifecycle
import WeftCore
import WeftRuntime

/// Pushes entitlements that change with the clock alone: when an account's grace period ends, its support level drops
/// with no new event from billing. Every `interval` the clock takes the accounts whose derived entitlement says it
/// changes by now and appends one recheck event each (`PipelineProcessor.recheckType`, keyed by account and instant,
/// so nodes that both see it store it once); the pipeline routes the account again at the new instant and the desks
/// get the new support level through the outbox.
///
/// It knows the accounts whose entitlement this node derived since it started (each commit derives it); an account
/// untouched since a restart is rechecked with its next event (the lookup is always derived at request time).
struct EntitlementClock: Service {
    let cache: EntitlementCache
    let store: any Store
    let events: Doorbell
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await tick(now: Date())
                } catch {
                    logger.warning("could not queue entitlement rechecks", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }

    /// Appends the rechecks due at `now`. Returns how many were queued.
    func tick(now: Date) async throws -> Int {
        let due = cache.takeDue(now: now)
        guard !due.isEmpty else { return 0 }
        let recheck = due.compactMap { key, at -> IncomingEvent? in
            guard let account = key.customerRef else { return nil }
            let millis = Int64((at.timeIntervalSince1970 * 1000).rounded())
            return IncomingEvent(
                system: account.system, eventID: SourceEventID("weft-recheck-\(key.rawValue)-\(millis)"),
                type: PipelineProcessor.recheckType, entityKey: key, occurredAt: at, receivedAt: now, payload: Data("{}".utf8),
                traceID: TraceID.random())
        }
        do {
            _ = try await store.append(recheck)
        } catch {
            cache.requeue(due.map(\.key))
            throw error
        }
        events.ring()
        return recheck.count
    }
}

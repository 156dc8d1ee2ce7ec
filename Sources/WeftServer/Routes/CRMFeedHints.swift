import Synchronization
public import WeftCore
public import WeftRuntime

/// What a CRM's webhooks (HubSpot events, Salesforce Outbound Messages) named since the feed last read, by object
/// type, and the doorbell that starts that read at once. Shared by the CRM deal feeds.
///
/// Webhooks only name records; the feed reads them whole. Names taken for a read that fails are put back, so the
/// next read tries them again (and the feed's search by modification time covers a node that died meanwhile).
public final class CRMFeedHints: Sendable {
    /// Rung when a record is named.
    public let wake = Doorbell()
    private let names = Mutex<[String: Set<String>]>([:])

    public init() {}

    /// Records ids of one object type, and rings `wake`.
    public func add(_ type: String, ids: [String]) {
        guard !ids.isEmpty else { return }
        names.withLock { $0[type, default: []].formUnion(ids) }
        wake.ring()
    }

    /// Runs `read` with the names recorded so far (taken out); puts them back if it throws.
    public func reading<T>(_ read: ([String: Set<String>]) async throws -> T) async throws -> T {
        let taken = names.withLock { names in
            let taken = names
            names = [:]
            return taken
        }
        do {
            return try await read(taken)
        } catch {
            names.withLock { names in
                for (type, ids) in taken { names[type, default: []].formUnion(ids) }
            }
            throw error
        }
    }

    /// Snapshot events oldest change first (ties by key), as the inbox should see them.
    public static func ordered(_ events: [IncomingEvent]) -> [IncomingEvent] {
        events.sorted { ($0.occurredAt, $0.entityKey.rawValue) < ($1.occurredAt, $1.entityKey.rawValue) }
    }
}

public import Foundation

/// What both stores share: how instants are stored and how event payloads are bound to their event when sealed.
/// Instants are stored as integer milliseconds since 1970 (UTC), in SQLite and PostgreSQL alike, so a copy between the
/// two moves numbers, not formatted times.
public enum StoreInstant {
    public static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    public static func millis(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    public static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}

extension PayloadCipher {
    /// What binds a sealed payload to its event (authenticated data): a payload moved to another row does not open.
    public static func eventContext(system: SystemName, eventID: SourceEventID) -> String {
        "weft.event\u{0}\(system.rawValue)\u{0}\(eventID.rawValue)"
    }

    /// Seals the payloads of events about to be appended.
    public func sealPayloads(_ events: [IncomingEvent]) throws(PayloadCipherError) -> [IncomingEvent] {
        var events = events
        for index in events.indices {
            events[index].payload = try seal(
                events[index].payload, context: Self.eventContext(system: events[index].system, eventID: events[index].eventID))
        }
        return events
    }
}

/// Opens stored event payloads: with the configured cipher, or (none configured) only those stored in the clear.
public struct EventPayloadOpener: Sendable {
    public let cipher: PayloadCipher?

    public init(cipher: PayloadCipher?) { self.cipher = cipher }

    /// The payload as received. Throws when it cannot be opened (key not configured, altered).
    public func open(_ event: InboxEvent) throws(PayloadCipherError) -> Data {
        guard let cipher else { return try PayloadCipher.openWithoutKeys(event.payload) }
        return try cipher.open(event.payload, context: PayloadCipher.eventContext(system: event.system, eventID: event.eventID))
    }

    /// Splits claimed events into those whose payload opened (returned opened) and those that cannot be opened, with
    /// the reason each is to be kept failed under.
    public func openClaimed(_ claimed: [InboxEvent]) -> (ready: [InboxEvent], unreadable: [(seq: EventSeq, reason: String)]) {
        guard cipher != nil || claimed.contains(where: { PayloadCipher.isSealed($0.payload) }) else { return (claimed, []) }
        var ready: [InboxEvent] = []
        var unreadable: [(seq: EventSeq, reason: String)] = []
        for var event in claimed {
            do {
                event.payload = try open(event)
                ready.append(event)
            } catch {
                unreadable.append((event.seq, "failed: \(error)"))
            }
        }
        return (ready, unreadable)
    }

    /// For listings: the opened payload where it opens, the stored bytes otherwise.
    public func openedForListing(_ event: InboxEvent) -> InboxEvent {
        var event = event
        if let payload = try? open(event) { event.payload = payload }
        return event
    }
}

/// Outbox rules both stores write in SQL (the same text runs on SQLite and PostgreSQL).
public enum OutboxSQL {
    /// True for the row of `commands` under update when a later command of the same target, entity and emission key
    /// exists: the router keys its commands `<target>|<key>|<count>`, and a later count describes the state the
    /// target must reach now, so the earlier command would only bring back an older one. Keys not of that shape
    /// (ending in digits after a `|`) are never superseded.
    public static let supersededByLater =
        "EXISTS (SELECT 1 FROM commands AS later WHERE \(sameRecord(earlier: "commands", later: "later")))"

    /// What a dead command superseded this way says when a replay sets it aside (status `superseded`).
    public static let supersededMessage =
        "superseded by a later command of the same record; not replayed (replay that one if it is dead too)"

    /// True for the row of `commands` under deletion when it supersedes (see `supersededByLater`) a command still
    /// dead: retention keeps it, so that the dead one stays recognisably superseded until an operator's replay sets
    /// it aside, and is never replayed over the newer state.
    public static let supersedesDead =
        "EXISTS (SELECT 1 FROM commands AS dead WHERE dead.status = 3 AND \(sameRecord(earlier: "dead", later: "commands")))"

    /// True when the row `later` is a later command than the row `earlier` of the same target, entity and emission
    /// key (`<target>|<key>|<count>`, compared without the count); keys not of that shape match nothing.
    private static func sameRecord(earlier: String, later: String) -> String {
        let (earlierKey, laterKey) = ("\(earlier).idempotency_key", "\(later).idempotency_key")
        return """
            \(later).target = \(earlier).target AND \(later).entity_key = \(earlier).entity_key AND \(later).id > \(earlier).id
              AND rtrim(\(earlierKey), '0123456789') LIKE '%|'
              AND \(earlierKey) <> rtrim(\(earlierKey), '0123456789')
              AND \(laterKey) <> rtrim(\(laterKey), '0123456789')
              AND rtrim(\(laterKey), '0123456789') = rtrim(\(earlierKey), '0123456789')
            """
    }

    /// The new `last_error` of a superseded command: the error it died of, then `message` (a bound parameter's SQL,
    /// `?1` or `$1`), once however often it is replayed.
    public static func supersededError(message: String) -> String {
        "CASE WHEN last_error LIKE '%' || \(message) THEN last_error ELSE coalesce(last_error || '; ', '') || \(message) END"
    }

    /// The audit log's line for a replay.
    public static func replayDetail(_ count: Int, superseded: Int, filter: CommandFilter) -> String {
        let left =
            superseded > 0 ? "; \(superseded) superseded by a later command of the same record, set aside as superseded" : ""
        return "\(count) command(s) matching \(filter.auditDescription)\(left)"
    }
}

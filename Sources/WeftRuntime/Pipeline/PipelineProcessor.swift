public import Foundation
public import WeftCore

/// The pipeline's pure core for one event: decode → govern → route, producing what the store must commit.
public struct PipelineProcessor: Sendable {
    public var governor: Governor
    public var router: CommandRouter
    public var decoders: [SystemName: any EventDecoder]

    public init(governor: Governor, router: CommandRouter, decoders: [SystemName: any EventDecoder]) {
        self.governor = governor
        self.router = router
        self.decoders = decoders
    }

    /// What processing one event amounted to, for metrics.
    public struct Summary: Sendable, Hashable {
        /// Field verdicts of every change in the event.
        public var verdicts: [Governor.Verdict]
        /// Fields dropped because their source does not own them.
        public var unownedFields: Int
        public var commands: Int
    }

    /// The type of the inbox events Weft appends itself when an account's entitlement changes with the clock (a grace
    /// period ending): nothing to decode, the aggregate is routed again at the new instant.
    public static let recheckType = "weft.entitlement.recheck"

    /// Processes `event` against the stored aggregate of its entity.
    public func process(_ event: InboxEvent, stored: StoredAggregate?, now: Date = Date()) -> (ProcessedEvent, Summary) {
        var summary = Summary(verdicts: [], unownedFields: 0, commands: 0)
        func finished(_ status: EventStatus, _ outcome: String) -> (ProcessedEvent, Summary) {
            (
                ProcessedEvent(
                    seq: event.seq, entityKey: event.entityKey, aggregate: nil, expectedVersion: nil, commands: [],
                    status: status, outcome: outcome, traceID: event.traceID),
                summary
            )
        }
        let decoded: DecodedEvent
        if event.type == Self.recheckType {
            decoded = DecodedEvent(entityKey: event.entityKey, changes: [])
        } else {
            guard let decoder = decoders[event.system] else {
                return finished(.failed, "no decoder is configured for system \(event.system)")
            }
            do {
                decoded = try decoder.decode(event)
            } catch {
                return finished(.failed, "cannot decode: \(error)")
            }
        }
        if let reason = decoded.ignoredReason { return finished(.done, "ignored: \(reason)") }

        var aggregate = stored?.aggregate ?? Aggregate()
        var changed = false
        for var change in decoded.changes {
            // A record filed under a customer's entity (a refund that named only its charge) is that customer's.
            if let customer = event.entityKey.customerRef, change.ref.kind != .customer, change.ref.kind != .product,
                change.fields["customerRef"] == nil, aggregate.record(change.ref)?.fields["customerRef"] == nil
            {
                change.fields["customerRef"] = CanonicalCoding.jsonValue(customer)
            }
            let result = governor.govern(change, from: event.system, onto: aggregate.record(change.ref))
            summary.verdicts.append(result.verdict)
            summary.unownedFields += result.unowned.count
            if !result.applied.isEmpty {
                aggregate.records[change.ref.description] = result.state
                changed = true
            } else if result.state != aggregate.record(change.ref) {
                // Versions moved forward without a value change: keep them, so later stale changes are caught.
                aggregate.records[change.ref.description] = result.state
                changed = true
            }
        }
        let commands = router.route(entityKey: event.entityKey, aggregate: &aggregate, source: event.system, now: now)
        summary.commands = commands.count
        // A customer's aggregate adopts the provisional keys of the invoices and charges it now knows, so events that
        // name only those (an `invoice_payment`, a refund) are processed here, beside the invoice they belong to.
        let adopted = event.entityKey.isCustomer ? aggregate.adoptAliases(excluding: event.entityKey) : []
        let verdict = Self.overall(summary.verdicts)
        guard changed || !commands.isEmpty || !adopted.isEmpty else { return finished(.done, verdict.rawValue) }
        let processed = ProcessedEvent(
            seq: event.seq, entityKey: event.entityKey, aggregate: aggregate, expectedVersion: stored?.version ?? 0,
            commands: commands, status: .done, outcome: verdict.rawValue, traceID: event.traceID,
            adoptedAliases: adopted)
        return (processed, summary)
    }

    /// The event's verdict: applied if any change applied, else stale, else unowned, else echo.
    static func overall(_ verdicts: [Governor.Verdict]) -> Governor.Verdict {
        for candidate in [Governor.Verdict.applied, .stale, .unowned] where verdicts.contains(candidate) {
            return candidate
        }
        return .echo
    }
}

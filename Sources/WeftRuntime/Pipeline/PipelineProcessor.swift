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

    /// Processes a run of one entity's events, in order, against its stored aggregate, routing once, on the state
    /// after the whole run. Routing is level-triggered (commands describe the state the targets must reach), so this
    /// emits what routing after each event would have emitted last, without the intermediate states.
    ///
    /// Every event that changes the aggregate saves it, each at the version the one before it left (so that a commit
    /// that loses the race for the entity at one event gives that event and every later one back to be processed
    /// again, while the ones before it keep their changes); the routed commands go with the last event that reached
    /// routing (not failed, not ignored), with the aggregate they were fingerprinted on.
    ///
    /// An event routes the flows of its own system, so the run routes those of every system it has a routed event of:
    /// one entity can hear from several (a CRM deal gets the CRM's snapshots and the ERP's order status), and routing
    /// only the last event's system would drop what the others changed.
    public func process(_ run: [InboxEvent], stored: StoredAggregate?, now: Date = Date()) -> [(ProcessedEvent, Summary)] {
        guard run.count > 1 else { return run.map { process($0, stored: stored, now: now) } }
        var current = stored
        var results: [(ProcessedEvent, Summary)] = []
        var lastRouted: Int?
        var sources: [SystemName] = []
        for event in run {
            var (result, summary, routed) = process(event, stored: current, now: now, routing: false)
            if routed {
                lastRouted = results.count
                if !sources.contains(event.system) { sources.append(event.system) }
            }
            if let aggregate = result.aggregate {
                let version = current?.version ?? 0
                result.expectedVersion = version
                current = StoredAggregate(aggregate: aggregate, version: version + 1)
            }
            results.append((result, summary))
        }
        guard let lastRouted else { return results }
        var aggregate = current?.aggregate ?? Aggregate()
        let event = run[lastRouted]
        let commands = sources.flatMap { source in
            router.route(entityKey: event.entityKey, aggregate: &aggregate, source: source, now: now)
        }
        guard !commands.isEmpty else { return results }
        var (result, summary) = results[lastRouted]
        result.commands = commands
        summary.commands = commands.count
        // No event after it saves the aggregate (only routed events change it). If it changed nothing itself (a
        // recheck, a stale change), it saves the emissions at the version the run left.
        if result.aggregate == nil { result.expectedVersion = current?.version ?? 0 }
        result.aggregate = aggregate
        results[lastRouted] = (result, summary)
        return results
    }

    /// Processes `event` against the stored aggregate of its entity.
    public func process(_ event: InboxEvent, stored: StoredAggregate?, now: Date = Date()) -> (ProcessedEvent, Summary) {
        let (result, summary, _) = process(event, stored: stored, now: now, routing: true)
        return (result, summary)
    }

    /// One event; `routing: false` applies its changes without routing. `routed` tells whether it reached routing.
    func process(
        _ event: InboxEvent, stored: StoredAggregate?, now: Date, routing: Bool
    ) -> (result: ProcessedEvent, summary: Summary, routed: Bool) {
        var summary = Summary(verdicts: [], unownedFields: 0, commands: 0)
        func finished(_ status: EventStatus, _ outcome: String, routed: Bool = false) -> (ProcessedEvent, Summary, Bool) {
            (
                ProcessedEvent(
                    seq: event.seq, entityKey: event.entityKey, aggregate: nil, expectedVersion: nil, commands: [],
                    status: status, outcome: outcome, traceID: event.traceID),
                summary, routed
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
        var changedRefs: [ExternalRef] = []
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
                changedRefs.append(change.ref)
            } else if result.state != aggregate.record(change.ref) {
                // Versions moved forward without a value change: keep them, so later stale changes are caught.
                aggregate.records[change.ref.description] = result.state
                changed = true
            }
        }
        let commands =
            routing ? router.route(entityKey: event.entityKey, aggregate: &aggregate, source: event.system, now: now) : []
        summary.commands = commands.count
        // A customer's aggregate adopts the provisional keys of the invoices and charges it now knows, so events that
        // name only those (an `invoice_payment`, a refund) are processed here, beside the invoice they belong to. Only
        // the records whose values this event changed can name a new one: every earlier event adopted the others'.
        let adopted =
            event.entityKey.isCustomer ? aggregate.adoptAliases(excluding: event.entityKey, changed: changedRefs) : []
        let verdict = Self.overall(summary.verdicts)
        guard changed || !commands.isEmpty || !adopted.isEmpty else { return finished(.done, verdict.rawValue, routed: true) }
        let processed = ProcessedEvent(
            seq: event.seq, entityKey: event.entityKey, aggregate: aggregate, expectedVersion: stored?.version ?? 0,
            commands: commands, status: .done, outcome: verdict.rawValue, traceID: event.traceID,
            adoptedAliases: adopted)
        return (processed, summary, true)
    }

    /// The event's verdict: applied if any change applied, else stale, else unowned, else echo.
    static func overall(_ verdicts: [Governor.Verdict]) -> Governor.Verdict {
        for candidate in [Governor.Verdict.applied, .stale, .unowned] where verdicts.contains(candidate) {
            return candidate
        }
        return .echo
    }
}

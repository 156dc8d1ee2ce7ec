public import Foundation
public import Logging
public import WeftConnectors
public import WeftCore
public import WeftRuntime

/// Salesforce opportunities as an `EventFeed`, for `CatchUpService`: every opportunity touched since the cursor (the
/// opportunity, a line item, its account, its contact role or contact modified), plus the records Outbound Messages
/// named since the last read, read whole and stored as `opportunity.snapshot` events keyed `<system>/deal/<id>`.
///
/// Outbound Messages ring the catch-up early (`wake`) and name what changed (`hint`), so an opportunity is read within
/// moments of the change; the read by `SystemModstamp` is what makes sure nothing is missed when a message expired
/// or Weft was down. Reading the same state again stores nothing new (the event id is derived from the content).
public final class SalesforceOpportunityFeed: EventFeed {
    /// How far back a first read goes (later reads start at the cursor).
    public let maximumLookBack: TimeInterval
    public let reader: SalesforceOpportunityReader
    /// Record ids by sObject type (`Opportunity`, `Account`, `Contact`, `OpportunityLineItem`…) named by Outbound
    /// Messages, and the doorbell that reads them now rather than at the next interval.
    let hints = CRMFeedHints()
    public var wake: Doorbell { hints.wake }
    let now: @Sendable () -> Date
    let logger: Logger

    public init(
        reader: SalesforceOpportunityReader, maximumLookBack: TimeInterval = 30 * 86_400,
        now: @escaping @Sendable () -> Date = Date.init, logger: Logger
    ) {
        self.reader = reader
        self.maximumLookBack = maximumLookBack
        self.now = now
        self.logger = logger
    }

    /// Records what an Outbound Message named, to read at the next run (which `wake` starts).
    public func hint(_ objectType: String, ids: [String]) {
        hints.add(objectType, ids: ids)
    }

    public func events(since: Date) async throws -> [IncomingEvent] {
        let now = self.now()
        let since = max(since, now.addingTimeInterval(-maximumLookBack))
        return try await hints.reading { hinted in
            var ids = Set(hinted["Opportunity"] ?? [])
            for (type, records) in hinted.sorted(by: { $0.key < $1.key }) where type != "Opportunity" {
                ids.formUnion(try await reader.opportunityIDs(related: type, ids: records.sorted(), logger: logger))
            }
            ids.formUnion(try await reader.touchedOpportunityIDs(since: since, logger: logger))
            let snapshots = try await reader.snapshots(opportunityIDs: Array(ids), logger: logger)
            return CRMFeedHints.ordered(
                snapshots.map { snapshot in
                    IncomingEvent(
                        system: reader.system, eventID: snapshot.eventID(system: reader.system),
                        type: SalesforceOpportunitySnapshot.eventType,
                        entityKey: EntityKey.of(ExternalRef(system: reader.system, kind: .deal, id: snapshot.opportunityID)),
                        occurredAt: snapshot.modifiedAt, receivedAt: now, payload: snapshot.payload, traceID: .random())
                })
        }
    }
}

/// Adapts the Salesforce decoder to the runtime's `EventDecoder`.
struct SalesforceDecoderAdapter: EventDecoder {
    let decoder: SalesforceEventDecoder
    func decode(_ event: InboxEvent) throws -> DecodedEvent { try decoder.decode(event) }
}

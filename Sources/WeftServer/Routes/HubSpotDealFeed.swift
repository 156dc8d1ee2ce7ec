public import Foundation
public import Logging
public import WeftConnectors
public import WeftCore
public import WeftRuntime

/// HubSpot deals as an `EventFeed`, for `CatchUpService`: every deal touched since the cursor (the deal, a line item,
/// its company or its contact modified), plus the records webhooks named since the last read, read whole and stored
/// as `deal.snapshot` events keyed `hubspot/deal/<id>`.
///
/// Webhooks ring the catch-up early (`wake`) and name what changed (`hint`), so a deal is read within moments of the
/// change, by id (the search index lags writes by seconds in HubSpot); the search by modification time is what makes
/// sure nothing is missed when a webhook was lost or Weft was down. Reading the same state again stores nothing new
/// (the event id is derived from the content).
public final class HubSpotDealFeed: EventFeed {
    /// How far back a first read goes (later reads start at the cursor): a first start does not replay the portal's
    /// history; `weft backfill` is for that.
    public let maximumLookBack: TimeInterval
    public let reader: HubSpotDealReader
    /// Records named by webhooks (by object type name), and the doorbell that reads them now rather than at the next
    /// interval.
    let hints = CRMFeedHints()
    public var wake: Doorbell { hints.wake }
    let now: @Sendable () -> Date
    let logger: Logger

    public init(
        reader: HubSpotDealReader, maximumLookBack: TimeInterval = 30 * 86_400, now: @escaping @Sendable () -> Date = Date.init,
        logger: Logger
    ) {
        self.reader = reader
        self.maximumLookBack = maximumLookBack
        self.now = now
        self.logger = logger
    }

    /// Records a webhook named, to read at the next run (which `wake` starts).
    public func hint(_ type: HubSpotObjectType, ids: [String]) {
        hints.add(type.name, ids: ids)
    }

    public func events(since: Date) async throws -> [IncomingEvent] {
        let now = self.now()
        let since = max(since, now.addingTimeInterval(-maximumLookBack))
        return try await hints.reading { hinted in
            var ids = Set(hinted[HubSpotObjectType.deals.name] ?? [])
            for type in [HubSpotObjectType.lineItems, .companies, .contacts] {
                guard let records = hinted[type.name] else { continue }
                let links = try await reader.client.batchReadAssociations(from: type, to: .deals, ids: records.sorted(), logger: logger)
                ids.formUnion(links.values.flatMap { $0 })
            }
            let touched = try await reader.touchedDealIDs(
                since: Int64((since.timeIntervalSince1970 * 1000).rounded(.down)), logger: logger)
            ids.formUnion(touched.ids)
            let snapshots = try await reader.snapshots(dealIDs: Array(ids), logger: logger)
            return CRMFeedHints.ordered(
                snapshots.map { snapshot in
                    IncomingEvent(
                        system: reader.system, eventID: snapshot.eventID(system: reader.system), type: HubSpotDealSnapshot.eventType,
                        entityKey: EntityKey.of(ExternalRef(system: reader.system, kind: .deal, id: snapshot.deal.id)),
                        occurredAt: snapshot.modifiedAt, receivedAt: now, payload: snapshot.payload, traceID: .random())
                })
        }
    }
}

/// Adapts the HubSpot decoder to the runtime's `EventDecoder`.
struct HubSpotDecoderAdapter: EventDecoder {
    let decoder: HubSpotEventDecoder
    func decode(_ event: InboxEvent) throws -> DecodedEvent { try decoder.decode(event) }
}

public import AsyncHTTPClient
package import Logging
public import WeftCore

/// Reads HubSpot deals whole — the deal, its line items, its company and its contact — by id, or every deal touched
/// since a time (the deal itself, or one of its line items, its company or its contact modified), for the intake of
/// deals into Weft's inbox as `deal.snapshot` events.
///
/// Calls per read of n deals (n ≤ 100): one batch read of the deals, three association batch reads, up to three batch
/// reads of the associated records. An incremental read adds one search per object type and page, and one
/// association read per type to find the deals of changed line items, companies and contacts.
public struct HubSpotDealReader: Sendable {
    package let client: HubSpotClient
    /// The client for searches: HubSpot limits the search API separately (a few requests per second per account),
    /// so searches pass their own gate as well as the account's.
    let searchClient: HubSpotClient
    public let system: SystemName
    public let mapping: HubSpotDealMapping

    /// - Parameters:
    ///   - configuration: the HubSpot account.
    ///   - mapping: how deals are read.
    ///   - system: the configured system name.
    ///   - httpClient: the shared HTTP client.
    ///   - gate: HubSpot's request gate (its 10-second window is shared by every call Weft makes with the token).
    ///   - searchGate: the gate searches pass as well (HubSpot's search limit, e.g. 4 per second).
    public init(
        configuration: HubSpotConfiguration, mapping: HubSpotDealMapping, system: SystemName, httpClient: HTTPClient,
        gate: any RequestGate, searchGate: any RequestGate
    ) {
        self.client = HubSpotClient(
            http: OutboundHTTPClient(client: httpClient, gate: gate), configuration: configuration)
        self.searchClient = HubSpotClient(
            http: OutboundHTTPClient(client: httpClient, gate: searchGate), configuration: configuration)
        self.system = system
        self.mapping = mapping
    }

    /// The deals with these ids, whole. Ids HubSpot does not know (deleted for good) are left out.
    package func snapshots(dealIDs: [String], logger: Logger) async throws(HubSpotAPIError) -> [HubSpotDealSnapshot] {
        let ids = Array(Set(dealIDs)).sorted()
        guard !ids.isEmpty else { return [] }
        var snapshots: [HubSpotDealSnapshot] = []
        for start in stride(from: 0, to: ids.count, by: 100) {
            let chunk = Array(ids[start..<min(ids.count, start + 100)])
            let deals = try await client.batchRead(
                .deals, ids: chunk, properties: HubSpotDealMapping.dealProperties, logger: logger
            ).records
            let found = deals.map(\.id)
            guard !found.isEmpty else { continue }
            let lineLinks = try await client.batchReadAssociations(from: .deals, to: .lineItems, ids: found, logger: logger)
            let companyLinks = try await client.batchReadAssociations(from: .deals, to: .companies, ids: found, logger: logger)
            let contactLinks = try await client.batchReadAssociations(from: .deals, to: .contacts, ids: found, logger: logger)
            // One company and one contact per deal: the lowest id, so the choice is stable between reads.
            let companyOf = companyLinks.compactMapValues { $0.min(by: Self.idOrder) }
            let contactOf = contactLinks.compactMapValues { $0.min(by: Self.idOrder) }
            let lines = try await records(
                .lineItems, ids: lineLinks.values.flatMap { $0 }, properties: mapping.lineItemProperties, logger: logger)
            let companies = try await records(
                .companies, ids: Array(companyOf.values), properties: mapping.companyProperties, logger: logger)
            let contacts = try await records(
                .contacts, ids: Array(contactOf.values), properties: HubSpotDealMapping.contactProperties, logger: logger)
            for deal in deals {
                snapshots.append(
                    HubSpotDealSnapshot(
                        deal: deal, lineItems: (lineLinks[deal.id] ?? []).compactMap { lines[$0] },
                        company: companyOf[deal.id].flatMap { companies[$0] }, contact: contactOf[deal.id].flatMap { contacts[$0] }))
            }
        }
        return snapshots
    }

    /// The ids of the deals touched at or after `since` (unix ms): deals modified, and the deals of line items,
    /// companies and contacts modified. Returns them with the newest modification time seen (where the next read
    /// starts).
    package func touchedDealIDs(since: Int64, logger: Logger) async throws(HubSpotAPIError) -> (ids: [String], newest: Int64) {
        var deals: Set<String> = []
        var newest = since
        for type in [HubSpotObjectType.deals, .lineItems, .companies, .contacts] {
            var cursor: HubSpotSearchCursor? = HubSpotSearchCursor(modifiedSince: since)
            var changed: Set<String> = []
            while let current = cursor {
                let page = try await searchClient.searchModified(type, cursor: current, properties: [], logger: logger)
                changed.formUnion(page.records.map(\.id))
                newest = max(newest, page.highWaterMark)
                cursor = page.next
            }
            if type == .deals {
                deals.formUnion(changed)
            } else if !changed.isEmpty {
                let links = try await client.batchReadAssociations(from: type, to: .deals, ids: changed.sorted(), logger: logger)
                deals.formUnion(links.values.flatMap { $0 })
            }
        }
        return (deals.sorted(by: Self.idOrder), newest)
    }

    /// One page of the deals modified at or after the cursor, oldest first (a backfill walks these): their ids,
    /// where the next page starts (`nil`: done), HubSpot's total for the query, and the newest modification seen.
    package func dealPage(_ cursor: HubSpotSearchCursor, logger: Logger) async throws(HubSpotAPIError) -> (
        ids: [String], next: HubSpotSearchCursor?, total: Int, newest: Int64
    ) {
        let page = try await searchClient.searchModified(.deals, cursor: cursor, properties: [], logger: logger)
        return (page.records.map(\.id), page.next, page.total, page.highWaterMark)
    }

    private func records(
        _ type: HubSpotObjectType, ids: [String], properties: [String], logger: Logger
    ) async throws(HubSpotAPIError) -> [String: HubSpotRecord] {
        let unique = Array(Set(ids)).sorted()
        guard !unique.isEmpty else { return [:] }
        let result = try await client.batchRead(type, ids: unique, properties: properties, logger: logger)
        return Dictionary(result.records.map { ($0.id, $0) }) { first, _ in first }
    }

    /// HubSpot ids are decimal numbers: shorter is smaller.
    static func idOrder(_ lhs: String, _ rhs: String) -> Bool { (lhs.count, lhs) < (rhs.count, rhs) }
}

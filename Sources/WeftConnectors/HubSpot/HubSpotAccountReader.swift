public import AsyncHTTPClient
package import Logging
public import WeftCore

/// Reads HubSpot accounts whole — the company, its contacts and its owner's email — by id, or every account touched
/// since a time (the company or one of its contacts modified), for the intake of accounts into Weft's inbox as
/// `account.snapshot` events.
///
/// Calls per read of n companies (n ≤ 100): one batch read of the companies, one association batch read
/// (companies → contacts), one batch read of the contacts, and one owner read per owner not cached. An incremental
/// read adds one search per object type and page, and one association read to find the companies of changed contacts.
public struct HubSpotAccountReader: Sendable {
    package let client: HubSpotClient
    /// The client for searches: they pass HubSpot's search limit's gate as well as the account's.
    let searchClient: HubSpotClient
    package let owners: HubSpotOwnerDirectory
    public let system: SystemName
    public let mapping: HubSpotAccountMapping

    /// - Parameters:
    ///   - configuration: the HubSpot account.
    ///   - mapping: where the account's fields are.
    ///   - system: the configured system name.
    ///   - httpClient: the shared HTTP client.
    ///   - gate: HubSpot's request gate (its 10-second window is shared by every call Weft makes with the token).
    ///   - searchGate: the gate searches pass as well (HubSpot's search limit, e.g. 3 per second spaced).
    public init(
        configuration: HubSpotConfiguration, mapping: HubSpotAccountMapping, system: SystemName, httpClient: HTTPClient,
        gate: any RequestGate, searchGate: any RequestGate
    ) {
        self.client = HubSpotClient(http: OutboundHTTPClient(client: httpClient, gate: gate), configuration: configuration)
        self.searchClient = HubSpotClient(
            http: OutboundHTTPClient(client: httpClient, gate: searchGate), configuration: configuration)
        self.owners = HubSpotOwnerDirectory(client: client)
        self.system = system
        self.mapping = mapping
    }

    /// The companies with these ids, whole. Ids HubSpot does not know (deleted for good) are left out; the id of a
    /// company merged into another reads the merged company (HubSpot resolves old ids), so the snapshot's
    /// `companyID` may differ from the id asked for.
    package func snapshots(companyIDs: [String], logger: Logger) async throws(HubSpotAPIError) -> [HubSpotAccountSnapshot] {
        let ids = Array(Set(companyIDs)).sorted(by: HubSpotDealReader.idOrder)
        var snapshots: [String: HubSpotAccountSnapshot] = [:]
        for start in stride(from: 0, to: ids.count, by: 100) {
            let chunk = Array(ids[start..<min(ids.count, start + 100)])
            let companies = try await client.recordsByID(
                .companies, ids: chunk, properties: mapping.companyProperties, logger: logger
            ).values.filter { snapshots[$0.id] == nil }
            guard !companies.isEmpty else { continue }
            let found = companies.map(\.id).sorted(by: HubSpotDealReader.idOrder)
            let contactLinks = try await client.batchReadAssociations(from: .companies, to: .contacts, ids: found, logger: logger)
            let contacts = try await client.recordsByID(
                .contacts, ids: contactLinks.values.flatMap { $0 }, properties: HubSpotAccountMapping.contactProperties,
                logger: logger)
            let ownerIDs = mapping.owner.map { owner in companies.compactMap { $0[owner] } } ?? []
            let emails = try await owners.emails(ids: ownerIDs, logger: logger)
            for company in companies {
                snapshots[company.id] = HubSpotAccountSnapshot(
                    company: company, contacts: (contactLinks[company.id] ?? []).compactMap { contacts[$0] },
                    ownerEmail: mapping.owner.flatMap { company[$0] }.flatMap { emails[$0] })
            }
        }
        return snapshots.values.sorted { HubSpotDealReader.idOrder($0.companyID, $1.companyID) }
    }

    /// The ids of the companies touched at or after `since` (unix ms): companies modified, and the companies of
    /// contacts modified. Returns them with the newest modification time seen (where the next read starts).
    package func touchedCompanyIDs(since millis: Int64, logger: Logger) async throws(HubSpotAPIError) -> (
        ids: [String], newest: Int64
    ) {
        let companies = try await searchClient.modifiedIDs(.companies, since: millis, logger: logger)
        let contacts = try await searchClient.modifiedIDs(.contacts, since: millis, logger: logger)
        var ids = companies.ids
        ids.formUnion(try await companyIDs(forContacts: Array(contacts.ids), logger: logger))
        return (ids.sorted(by: HubSpotDealReader.idOrder), max(companies.newest, contacts.newest))
    }

    /// The companies these contacts are associated with (for webhooks that name a contact).
    package func companyIDs(forContacts contactIDs: [String], logger: Logger) async throws(HubSpotAPIError) -> [String] {
        guard !contactIDs.isEmpty else { return [] }
        let links = try await client.batchReadAssociations(
            from: .contacts, to: .companies, ids: Array(Set(contactIDs)).sorted(by: HubSpotDealReader.idOrder), logger: logger)
        return Array(Set(links.values.flatMap { $0 })).sorted(by: HubSpotDealReader.idOrder)
    }

    /// One page of the companies modified at or after the cursor, oldest first (a backfill walks these): their ids,
    /// where the next page starts (`nil`: done), HubSpot's total for the query, and the newest modification seen.
    package func companyPage(_ cursor: HubSpotSearchCursor, logger: Logger) async throws(HubSpotAPIError) -> (
        ids: [String], next: HubSpotSearchCursor?, total: Int, newest: Int64
    ) {
        let page = try await searchClient.searchModified(.companies, cursor: cursor, properties: [], logger: logger)
        return (page.records.map(\.id), page.next, page.total, page.highWaterMark)
    }
}

extension HubSpotClient {
    /// The ids of every record of `type` modified at or after `since` (unix ms), walking the search's pages, and the
    /// newest modification time seen (`since` when none).
    package func modifiedIDs(_ type: HubSpotObjectType, since: Int64, logger: Logger) async throws(HubSpotAPIError) -> (
        ids: Set<String>, newest: Int64
    ) {
        var ids: Set<String> = []
        var newest = since
        var cursor: HubSpotSearchCursor? = HubSpotSearchCursor(modifiedSince: since)
        while let current = cursor {
            let page = try await searchModified(type, cursor: current, properties: [], logger: logger)
            ids.formUnion(page.records.map(\.id))
            newest = max(newest, page.highWaterMark)
            cursor = page.next
        }
        return (ids, newest)
    }

    /// The records with these ids (deduplicated), by the id HubSpot answered with.
    package func recordsByID(
        _ type: HubSpotObjectType, ids: [String], properties: [String], logger: Logger
    ) async throws(HubSpotAPIError) -> [String: HubSpotRecord] {
        let unique = Array(Set(ids)).sorted()
        guard !unique.isEmpty else { return [:] }
        let result = try await batchRead(type, ids: unique, properties: properties, logger: logger)
        return Dictionary(result.records.map { ($0.id, $0) }) { first, _ in first }
    }
}

public import AsyncHTTPClient
import Foundation
package import Logging
public import WeftCore

/// Reads Salesforce accounts whole — the Account, its owner's email and its Contacts — by id, or every account touched
/// since a time (the Account or one of its Contacts modified, deleted ones too), for the intake of accounts into
/// Weft's inbox as `account.snapshot` events.
///
/// Calls: one SOQL query (`queryAll`, with a `Contacts` subquery and the owner through its lookup) per 200 accounts
/// read; an incremental read makes two keyset-paged queries (Accounts and Contacts by `SystemModstamp`).
public struct SalesforceAccountReader: Sendable {
    package let client: SalesforceClient
    public let system: SystemName
    public let mapping: SalesforceAccountMapping
    /// Rows per keyset page of an incremental read.
    package var pageSize = 2000

    /// - Parameters:
    ///   - configuration: the org.
    ///   - mapping: where accounts' fields are.
    ///   - system: the configured system name.
    ///   - httpClient: the shared HTTP client.
    ///   - gate: the org's request gate.
    ///   - limits: receives every `Sforce-Limit-Info` reading (for the API usage gauge).
    public init(
        configuration: SalesforceConfiguration, mapping: SalesforceAccountMapping, system: SystemName,
        httpClient: HTTPClient, gate: any RequestGate, limits: SalesforceLimitTracker = SalesforceLimitTracker()
    ) {
        self.init(
            client: SalesforceClient(
                http: OutboundHTTPClient(client: httpClient, gate: gate), configuration: configuration, limits: limits),
            mapping: mapping, system: system)
    }

    /// A reader over an existing client (sharing its authenticator and its token).
    package init(client: SalesforceClient, mapping: SalesforceAccountMapping, system: SystemName) {
        self.client = client
        self.mapping = mapping
        self.system = system
    }

    /// The accounts with these ids (15 or 18 characters), whole; deleted ones (in the recycle bin) are read with
    /// `IsDeleted` true, ids Salesforce does not know are left out.
    package func snapshots(accountIDs: [String], logger: Logger) async throws(SalesforceAPIError) -> [SalesforceAccountSnapshot] {
        var snapshots: [SalesforceAccountSnapshot] = []
        for chunk in Self.chunks(accountIDs) {
            for row in try await client.queryAll(accountQuery(chunk), logger: logger) {
                var paged: [SalesforceRecord]?
                // A child result Salesforce paged (many contacts): read the account's contacts on their own.
                if let children = row["Contacts"], children["done"]?.boolValue == false, let id = row.id {
                    var query = SOQLBuilder("SELECT ")
                    query.fields(SalesforceAccountMapping.contactFields)
                    query.literal(" FROM Contact WHERE AccountId = ")
                    query.value(id)
                    query.literal(" ORDER BY Id")
                    paged = try await client.queryAll(query.soql, logger: logger)
                }
                if let snapshot = SalesforceAccountSnapshot(row: row, contacts: paged) { snapshots.append(snapshot) }
            }
        }
        return snapshots.sorted { $0.accountID < $1.accountID }
    }

    /// `SELECT <account fields>, (SELECT <contact fields> FROM Contacts ORDER BY Id) FROM Account WHERE Id IN (…)`.
    func accountQuery(_ ids: [String]) -> SalesforceSOQL {
        var query = SOQLBuilder("SELECT ")
        query.fields(mapping.accountFields)
        query.literal(", (SELECT ")
        query.fields(SalesforceAccountMapping.contactFields)
        query.literal(" FROM Contacts ORDER BY Id) FROM Account WHERE Id IN ")
        query.values(ids)
        return query.soql
    }

    /// The ids of the accounts touched at or after `since` (unix ms): Accounts modified (deleted ones too), and the
    /// Accounts of Contacts modified (deleted ones too). Returns them with the newest `SystemModstamp` seen (`since`
    /// when none), where the next read starts.
    package func touchedAccountIDs(since millis: Int64, logger: Logger) async throws(SalesforceAPIError) -> (
        ids: [String], newest: Int64
    ) {
        let accounts = try await client.modifiedRecords(
            "Account", fields: [], since: millis, pageSize: pageSize, logger: logger)
        let contacts = try await client.modifiedRecords(
            "Contact", fields: ["AccountId"], since: millis, pageSize: pageSize, logger: logger)
        var ids = Set(accounts.records.compactMap(\.id))
        ids.formUnion(contacts.records.compactMap { $0.string("AccountId") })
        return (ids.sorted(), max(millis, accounts.newest, contacts.newest))
    }

    /// The Accounts of these Contacts (deleted Contacts too), for Outbound Messages that name a Contact.
    package func accountIDs(forContacts contactIDs: [String], logger: Logger) async throws(SalesforceAPIError) -> [String] {
        var ids: Set<String> = []
        for chunk in Self.chunks(contactIDs) {
            var query = SOQLBuilder("SELECT Id, AccountId FROM Contact WHERE Id IN ")
            query.values(chunk)
            ids.formUnion(try await client.queryAll(query.soql, logger: logger).compactMap { $0.string("AccountId") })
        }
        return ids.sorted()
    }

    /// Distinct record ids in chunks of 200 (an `IN` list per query); text that is not a record id is dropped.
    static func chunks(_ ids: [String]) -> [[String]] {
        let ids = Array(Set(ids.filter(SalesforceOutboundMessage.isRecordID))).sorted()
        return stride(from: 0, to: ids.count, by: 200).map { Array(ids[$0..<min(ids.count, $0 + 200)]) }
    }
}

extension SalesforceClient {
    /// Every record of `object` (deleted ones too: `queryAll`) with `SystemModstamp` at or after `since` (unix ms; the
    /// literal is rounded down to the second), read in `(SystemModstamp, Id)` keyset pages of `pageSize` rows (no
    /// `OFFSET`, whose 2000-row ceiling and shifting rows would skip records modified while the pages are read).
    /// Each record carries `Id`, `SystemModstamp` and `fields`. Returns them with the newest stamp seen (`since` when
    /// none).
    package func modifiedRecords(
        _ object: String, fields: [String], since millis: Int64, pageSize: Int, logger: Logger
    ) async throws(SalesforceAPIError) -> (records: [SalesforceRecord], newest: Int64) {
        var records: [SalesforceRecord] = []
        var newest = millis
        var position: SalesforceModstampPosition?
        while true {
            var query = SOQLBuilder("SELECT Id, SystemModstamp")
            if !fields.isEmpty {
                query.literal(", ")
                query.fields(fields)
            }
            query.literal(" FROM ")
            query.fields([object])
            query.literal(" WHERE SystemModstamp >= ")
            query.date(Date(timeIntervalSince1970: Double(millis) / 1000))
            if let position {
                query.literal(" AND (SystemModstamp > ")
                query.dateTime(millis: position.millis)
                query.literal(" OR (SystemModstamp = ")
                query.dateTime(millis: position.millis)
                query.literal(" AND Id > ")
                query.value(position.id)
                query.literal("))")
            }
            query.literal(" ORDER BY SystemModstamp, Id LIMIT ")
            query.integer(max(1, pageSize))
            let rows = try await queryAll(query.soql, logger: logger)
            for row in rows {
                guard let id = row.id, let stamp = row.string("SystemModstamp").flatMap(SalesforceTime.parse) else {
                    throw SalesforceAPIError(
                        kind: .invalidResponse, message: "Salesforce answered a \(object) row without Id or SystemModstamp")
                }
                let next = SalesforceModstampPosition(systemModstamp: stamp, id: id)
                if let position, (next.millis, next.id) <= (position.millis, position.id) {
                    throw SalesforceAPIError(
                        kind: .invalidResponse, message: "Salesforce answered \(object) rows out of (SystemModstamp, Id) order")
                }
                position = next
                newest = max(newest, next.millis)
                records.append(row)
            }
            if rows.count < max(1, pageSize) { return (records, newest) }
        }
    }
}

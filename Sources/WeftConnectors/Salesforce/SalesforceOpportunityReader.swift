public import AsyncHTTPClient
package import Foundation
package import Logging
import Synchronization
public import WeftCore

/// Reads Salesforce opportunities whole — the opportunity, its account, its line items and its primary contact — by
/// id, or every opportunity touched since a time, for the intake of opportunities into Weft's inbox as
/// `opportunity.snapshot` events.
///
/// Calls: one SOQL query (with a child subquery per relationship) per 200 opportunities read; an incremental read
/// makes four queries (opportunities, line items, accounts and contact roles/contacts modified since), each paged.
public struct SalesforceOpportunityReader: Sendable {
    package let client: SalesforceClient
    public let system: SystemName
    public let mapping: SalesforceOpportunityMapping
    /// Whether the org has `CurrencyIsoCode` (multi-currency): learnt from the first query.
    let currencyField: CurrencyFieldProbe

    /// - Parameters:
    ///   - configuration: the org.
    ///   - mapping: how opportunities are read.
    ///   - system: the configured system name.
    ///   - httpClient: the shared HTTP client.
    ///   - gate: the org's request gate.
    ///   - limits: receives every `Sforce-Limit-Info` reading (for the API usage gauge).
    public init(
        configuration: SalesforceConfiguration, mapping: SalesforceOpportunityMapping, system: SystemName,
        httpClient: HTTPClient, gate: any RequestGate, limits: SalesforceLimitTracker = SalesforceLimitTracker()
    ) {
        let http = OutboundHTTPClient(client: httpClient, gate: gate)
        self.init(
            client: SalesforceClient(
                http: http, configuration: configuration,
                authenticator: SalesforceAuthenticator(configuration: configuration, http: http), limits: limits),
            mapping: mapping, system: system)
    }

    /// A reader over an existing client (sharing its authenticator and its token).
    package init(client: SalesforceClient, mapping: SalesforceOpportunityMapping, system: SystemName) {
        self.client = client
        self.mapping = mapping
        self.system = system
        self.currencyField = CurrencyFieldProbe()
    }

    /// The opportunities with these ids (15 or 18 characters), whole; deleted ones (in the recycle bin) are read with
    /// `IsDeleted` true, ids Salesforce does not know are left out.
    package func snapshots(opportunityIDs: [String], logger: Logger) async throws(SalesforceAPIError)
        -> [SalesforceOpportunitySnapshot]
    {
        let ids = Array(Set(opportunityIDs.filter(SalesforceOutboundMessage.isRecordID))).sorted()
        var snapshots: [SalesforceOpportunitySnapshot] = []
        for start in stride(from: 0, to: ids.count, by: 200) {
            let chunk = Array(ids[start..<min(ids.count, start + 200)])
            let rows = try await opportunityRows(chunk, logger: logger)
            for row in rows {
                var paged: [SalesforceRecord]?
                // A child result Salesforce paged (many line items): read the lines on their own.
                if let children = row["OpportunityLineItems"], children["done"]?.boolValue == false, let id = row.id {
                    var query = SOQLBuilder("SELECT ")
                    query.fields(SalesforceOpportunityMapping.lineFields + ["IsDeleted"])
                    query.literal(" FROM OpportunityLineItem WHERE OpportunityId = ")
                    query.value(id)
                    paged = try await client.query(query.soql, logger: logger)
                }
                if let snapshot = SalesforceOpportunitySnapshot(row: row, lines: paged) { snapshots.append(snapshot) }
            }
        }
        return snapshots
    }

    private func opportunityRows(_ ids: [String], logger: Logger) async throws(SalesforceAPIError) -> [SalesforceRecord] {
        let withCurrency = currencyField.hasField ?? true
        do throws(SalesforceAPIError) {
            let rows = try await client.queryAll(opportunityQuery(ids, currency: withCurrency), logger: logger)
            if currencyField.hasField == nil { currencyField.set(withCurrency) }
            return rows
        } catch let error
            where withCurrency && currencyField.hasField == nil && error.kind == .invalid
            && error.message.contains("CurrencyIsoCode")
        {
            // A single-currency org: no CurrencyIsoCode; the configured currency applies.
            logger.debug("salesforce org has no CurrencyIsoCode; using the configured currency")
            currencyField.set(false)
            return try await client.queryAll(opportunityQuery(ids, currency: false), logger: logger)
        }
    }

    func opportunityQuery(_ ids: [String], currency: Bool) -> SalesforceSOQL {
        var query = SOQLBuilder("SELECT ")
        query.fields(SalesforceOpportunityMapping.opportunityFields + (currency ? ["CurrencyIsoCode"] : []))
        query.literal(", ")
        query.fields(mapping.accountFields, prefix: "Account.")
        query.literal(", (SELECT ")
        query.fields(SalesforceOpportunityMapping.lineFields + ["IsDeleted"])
        query.literal(" FROM OpportunityLineItems ORDER BY Id), (SELECT ")
        query.fields(SalesforceOpportunityMapping.contactRoleFields)
        query.literal(", ")
        query.fields(SalesforceOpportunityMapping.contactFields, prefix: "Contact.")
        query.literal(" FROM OpportunityContactRoles WHERE IsPrimary = true) FROM Opportunity WHERE Id IN ")
        query.values(ids)
        return query.soql
    }

    /// The ids of the opportunities touched at or after `since`: opportunities modified (deleted ones too), and the
    /// opportunities of line items (deleted ones too), accounts, contact roles and contacts modified.
    package func touchedOpportunityIDs(since: Date, logger: Logger) async throws(SalesforceAPIError) -> [String] {
        var ids: Set<String> = []
        var opportunities = SOQLBuilder("SELECT Id FROM Opportunity WHERE SystemModstamp >= ")
        opportunities.date(since)
        ids.formUnion(try await client.queryAll(opportunities.soql, logger: logger).compactMap(\.id))

        var lines = SOQLBuilder("SELECT OpportunityId FROM OpportunityLineItem WHERE SystemModstamp >= ")
        lines.date(since)
        ids.formUnion(try await client.queryAll(lines.soql, logger: logger).compactMap { $0.string("OpportunityId") })

        var accounts = SOQLBuilder("SELECT Id FROM Opportunity WHERE Account.SystemModstamp >= ")
        accounts.date(since)
        ids.formUnion(try await client.query(accounts.soql, logger: logger).compactMap(\.id))

        var roles = SOQLBuilder("SELECT OpportunityId FROM OpportunityContactRole WHERE SystemModstamp >= ")
        roles.date(since)
        roles.literal(" OR Contact.SystemModstamp >= ")
        roles.date(since)
        ids.formUnion(try await client.queryAll(roles.soql, logger: logger).compactMap { $0.string("OpportunityId") })
        return ids.sorted()
    }

    /// The opportunities records of another type lead to: an account's opportunities, a line item's or a contact
    /// role's opportunity, the opportunities a contact is a contact role on. Unknown types lead nowhere.
    package func opportunityIDs(related type: String, ids: [String], logger: Logger) async throws(SalesforceAPIError)
        -> [String]
    {
        let ids = Array(Set(ids.filter(SalesforceOutboundMessage.isRecordID))).sorted()
        guard !ids.isEmpty else { return [] }
        var result: Set<String> = []
        for start in stride(from: 0, to: ids.count, by: 200) {
            let chunk = Array(ids[start..<min(ids.count, start + 200)])
            var query: SOQLBuilder
            let field: String?
            switch type {
            case "Account":
                query = SOQLBuilder("SELECT Id FROM Opportunity WHERE AccountId IN ")
                field = nil
            case "OpportunityLineItem":
                query = SOQLBuilder("SELECT OpportunityId FROM OpportunityLineItem WHERE Id IN ")
                field = "OpportunityId"
            case "OpportunityContactRole":
                query = SOQLBuilder("SELECT OpportunityId FROM OpportunityContactRole WHERE Id IN ")
                field = "OpportunityId"
            case "Contact":
                query = SOQLBuilder("SELECT OpportunityId FROM OpportunityContactRole WHERE ContactId IN ")
                field = "OpportunityId"
            default:
                return []
            }
            query.values(chunk)
            let records = try await client.queryAll(query.soql, logger: logger)
            result.formUnion(records.compactMap { record in field.map { record.string($0) } ?? record.id })
        }
        return result.sorted()
    }
}

extension SalesforceOpportunityReader {
    /// Up to `limit` ids of opportunities (deleted ones too: `queryAll`) with `SystemModstamp` at or after `since`, in
    /// `(SystemModstamp, Id)` order, starting after `position` (keyset paging: no `OFFSET`, whose 2000-row ceiling
    /// and shifting rows would skip records modified while the pages are read).
    package func modifiedOpportunities(
        since: Date, after position: SalesforceModstampPosition?, limit: Int, logger: Logger
    ) async throws(SalesforceAPIError) -> SalesforceModifiedPage {
        let rows = try await client.queryAll(modifiedQuery(since: since, after: position, limit: limit), logger: logger)
        var ids: [String] = []
        var last: SalesforceModstampPosition?
        for row in rows {
            guard let id = row.id, let stamp = row.string("SystemModstamp").flatMap(SalesforceTime.parse) else {
                throw SalesforceAPIError(
                    kind: .invalidResponse, message: "Salesforce answered an Opportunity row without Id or SystemModstamp")
            }
            ids.append(id)
            last = SalesforceModstampPosition(systemModstamp: stamp, id: id)
        }
        return SalesforceModifiedPage(ids: ids, last: last)
    }

    /// How many opportunities (deleted ones too) `modifiedOpportunities` has still to read from `position`
    /// (`SELECT COUNT() …`: `totalSize`).
    package func countModifiedOpportunities(since: Date, after position: SalesforceModstampPosition?, logger: Logger)
        async throws(SalesforceAPIError) -> Int
    {
        try await client.queryPage(modifiedQuery(since: since, after: position, limit: nil), includeDeleted: true, logger: logger)
            .totalSize
    }

    /// `SELECT Id, SystemModstamp FROM Opportunity WHERE SystemModstamp >= since [AND (SystemModstamp > t OR
    /// (SystemModstamp = t AND Id > id))] ORDER BY SystemModstamp, Id LIMIT n`, or `SELECT COUNT()` with the same
    /// condition when `limit` is `nil`.
    package func modifiedQuery(since: Date, after position: SalesforceModstampPosition?, limit: Int?) -> SalesforceSOQL {
        var query = SOQLBuilder("SELECT ")
        if limit == nil {
            query.literal("COUNT()")
        } else {
            query.literal("Id, SystemModstamp")
        }
        query.literal(" FROM Opportunity WHERE SystemModstamp >= ")
        query.date(since)
        if let position {
            query.literal(" AND (SystemModstamp > ")
            query.dateTime(millis: position.millis)
            query.literal(" OR (SystemModstamp = ")
            query.dateTime(millis: position.millis)
            query.literal(" AND Id > ")
            query.value(position.id)
            query.literal("))")
        }
        if let limit {
            query.literal(" ORDER BY SystemModstamp, Id LIMIT ")
            query.integer(max(1, limit))
        }
        return query.soql
    }
}

/// The last opportunity a keyset read returned: its `SystemModstamp` (to the millisecond) and its Id. Encoded as
/// `{"systemModstamp":"2026-01-05T10:00:00.000Z","id":"006…"}`.
package struct SalesforceModstampPosition: Sendable, Hashable, Codable {
    /// `SystemModstamp` in unix milliseconds.
    package var millis: Int64
    /// The 18-character Opportunity Id.
    package var id: String

    package init(systemModstamp: Date, id: String) {
        self.millis = Int64((systemModstamp.timeIntervalSince1970 * 1000).rounded())
        self.id = id
    }

    package var systemModstamp: Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

    enum CodingKeys: String, CodingKey {
        case systemModstamp
        case id
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .systemModstamp)
        guard let stamp = SalesforceTime.parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: .systemModstamp, in: container, debugDescription: "not a Salesforce datetime")
        }
        self.init(systemModstamp: stamp, id: try container.decode(String.self, forKey: .id))
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(SOQLBuilder.dateTimeText(millis: millis, alwaysFraction: true), forKey: .systemModstamp)
        try container.encode(id, forKey: .id)
    }
}

/// A page of a keyset read of opportunities.
package struct SalesforceModifiedPage: Sendable, Hashable {
    /// The opportunity ids, in `(SystemModstamp, Id)` order.
    package var ids: [String]
    /// Where the page ended; `nil` for an empty page.
    package var last: SalesforceModstampPosition?
}

/// Whether the org has `CurrencyIsoCode`, once known.
final class CurrencyFieldProbe: Sendable {
    private let state = Mutex<Bool?>(nil)
    var hasField: Bool? { state.withLock { $0 } }
    func set(_ value: Bool) { state.withLock { $0 = value } }
}

/// Builds a SOQL statement from constant text, checked field names and literals only.
struct SOQLBuilder {
    private var interpolation: SalesforceSOQL.StringInterpolation

    init(_ text: StaticString) {
        interpolation = SalesforceSOQL.StringInterpolation(literalCapacity: 256, interpolationCount: 16)
        interpolation.appendLiteral(text.description)
    }

    mutating func literal(_ text: StaticString) { interpolation.appendLiteral(text.description) }

    /// `a, b, c` (each checked as an API name), with `prefix` (`Account.`) before each.
    mutating func fields(_ names: [String], prefix: String = "") {
        for (index, name) in names.enumerated() {
            if index > 0 { interpolation.appendLiteral(", ") }
            interpolation.appendInterpolation(field: prefix + name)
        }
    }

    mutating func value(_ text: String) { interpolation.appendInterpolation(text) }
    mutating func values(_ texts: [String]) { interpolation.appendInterpolation(texts) }
    mutating func date(_ date: Date) { interpolation.appendInterpolation(date) }
    mutating func integer(_ value: Int) { interpolation.appendInterpolation(value) }

    /// A datetime literal to the millisecond: `2024-01-01T00:00:00Z` for a whole second (the documented form, and
    /// all Salesforce stores: its datetimes keep no milliseconds), `2024-01-01T00:00:00.250Z` otherwise.
    mutating func dateTime(millis: Int64) {
        interpolation.appendLiteral(Self.dateTimeText(millis: millis, alwaysFraction: false))
    }

    static func dateTimeText(millis: Int64, alwaysFraction: Bool) -> String {
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let fraction = millis - seconds * 1000
        let whole = SalesforceSOQL.dateTime(Date(timeIntervalSince1970: Double(seconds)))
        guard fraction != 0 || alwaysFraction else { return whole }
        let digits = String(fraction)
        return String(whole.dropLast()) + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    var soql: SalesforceSOQL { SalesforceSOQL(stringInterpolation: interpolation) }
}

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

    var soql: SalesforceSOQL { SalesforceSOQL(stringInterpolation: interpolation) }
}

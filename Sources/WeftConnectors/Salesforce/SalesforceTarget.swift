public import AsyncHTTPClient
import Foundation
public import Logging
public import WeftCore

/// The Opportunity fields Weft writes the ERP status to (`nil`: not written). They must exist on Opportunity
/// (Setup → Object Manager → Opportunity → Fields & Relationships) and be editable by the integration user; see
/// `docs/connectors/salesforce.md` for their types and picklist values.
public struct SalesforceStatusFields: Sendable, Hashable {
    /// The order's number in the ERP (`S00042`); default `ERP_Order_Ref__c`.
    public var orderRef: String?
    /// `quotation`, `confirmed`, `cancelled` or `locked`; not written by default.
    public var orderState: String?
    /// `not_invoiced`, `invoiced`, `partially_paid`, `paid` or `overdue`; default `Invoice_Status__c`.
    public var invoiceStatus: String?
    /// `good` or `past_due`; default `Payment_Standing__c`.
    public var paymentStanding: String?

    /// - Parameters:
    ///   - orderRef: the field for the order number (`nil`: not written).
    ///   - orderState: the field for the order's state (`nil`: not written).
    ///   - invoiceStatus: the field for how far invoicing and payment have come (`nil`: not written).
    ///   - paymentStanding: the field for whether an invoice is overdue (`nil`: not written).
    public init(
        orderRef: String? = "ERP_Order_Ref__c", orderState: String? = nil, invoiceStatus: String? = "Invoice_Status__c",
        paymentStanding: String? = "Payment_Standing__c"
    ) {
        self.orderRef = orderRef
        self.orderState = orderState
        self.invoiceStatus = invoiceStatus
        self.paymentStanding = paymentStanding
    }

    /// The fields written, in a stable order.
    public var names: [String] { [orderRef, orderState, invoiceStatus, paymentStanding].compactMap { $0 } }

    /// The field values for a status.
    func values(_ status: DealERPStatus) -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        if let orderRef { values[orderRef] = .string(status.orderRef) }
        if let orderState { values[orderState] = .string(status.orderState) }
        if let invoiceStatus { values[invoiceStatus] = .string(status.invoiceStatus) }
        if let paymentStanding { values[paymentStanding] = .string(status.paymentStanding) }
        return values
    }
}

/// Writes deal status to Salesforce opportunities: one sObject Collections update
/// (`PATCH /composite/sobjects`, `allOrNone: false`) of at most `maxBatchSize` opportunities per delivery, one record
/// per opportunity (the newest command wins). Writing the same values again changes nothing but `SystemModstamp`, so a
/// redelivered command is harmless; the change comes back as an Outbound Message or a poll whose re-read opportunity
/// is the same deal (Weft does not read these fields), so nothing loops.
///
/// Per record: success → delivered; a deleted or unknown opportunity → rejected; a field that is missing, not
/// editable or of the wrong type → rejected naming the field; `UNABLE_TO_LOCK_ROW` → retried. A failed call (request
/// limit, 5xx, transport) → every command retried; a 401 re-authenticates once inside the client.
public struct SalesforceTarget: TargetConnector {
    let client: SalesforceClient
    let fields: SalesforceStatusFields
    let system: SystemName
    /// Account syncs (`sync_account`): the fields Odoo owns, written to the Account and its Contacts.
    let accounts: SalesforceAccountWriter

    /// One sObject Collections call per delivery.
    public var maxBatchSize: Int { client.configuration.collectionSize }

    /// - Parameters:
    ///   - configuration: the org.
    ///   - fields: the Opportunity fields the status is written to.
    ///   - system: the configured system name (named in rejections, so an operator knows which config to fix).
    ///   - httpClient: the shared HTTP client.
    ///   - gate: the org's request gate.
    ///   - limits: receives every `Sforce-Limit-Info` reading.
    public init(
        configuration: SalesforceConfiguration, fields: SalesforceStatusFields = SalesforceStatusFields(), system: SystemName,
        accounts: SalesforceAccountMapping = SalesforceAccountMapping(), httpClient: HTTPClient, gate: any RequestGate,
        limits: SalesforceLimitTracker = SalesforceLimitTracker()
    ) {
        self.init(
            client: SalesforceClient(
                http: OutboundHTTPClient(client: httpClient, gate: gate), configuration: configuration, limits: limits),
            fields: fields, system: system, accounts: accounts)
    }

    /// A target over an existing client (sharing its authenticator, so the org's reader and target use one token).
    package init(
        client: SalesforceClient, fields: SalesforceStatusFields, system: SystemName,
        accounts: SalesforceAccountMapping = SalesforceAccountMapping()
    ) {
        self.client = client
        self.fields = fields
        self.system = system
        self.accounts = SalesforceAccountWriter(client: client, mapping: accounts, system: system)
    }

    public func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: batch.count)
        // Account syncs go to the account writer (its own Collections calls), in their order.
        let syncs = batch.indices.compactMap { index -> (Int, AccountSync)? in
            if case .syncAccount(let sync) = batch[index].payload { (index, sync) } else { nil }
        }
        if !syncs.isEmpty {
            for ((index, _), outcome) in zip(syncs, await accounts.sync(syncs.map(\.1), logger: logger)) {
                outcomes[index] = outcome
            }
        }
        // The newest command per opportunity, and every command index that command answers for.
        var newest: [String: (index: Int, update: DealStatusUpdate)] = [:]
        var indexes: [String: [Int]] = [:]
        var order: [String] = []
        for (index, command) in batch.enumerated() {
            if outcomes[index] != nil { continue }
            guard case .updateDealStatus(let update) = command.payload else {
                outcomes[index] = .reject(
                    DeliveryFailure(
                        kind: .rejected, message: "Salesforce takes deal status and accounts only, not \(command.payload.kind)"))
                continue
            }
            let id = update.deal.id
            guard SalesforceOutboundMessage.isRecordID(id) else {
                outcomes[index] = .reject(
                    DeliveryFailure(
                        kind: .rejected, message: "'\(id)' is not a Salesforce record id; deal \(update.deal) cannot be updated"))
                continue
            }
            if let current = newest[id] {
                if command.createdAt >= batch[current.index].createdAt { newest[id] = (index, update) }
            } else {
                newest[id] = (index, update)
                order.append(id)
            }
            indexes[id, default: []].append(index)
        }
        if !order.isEmpty {
            if fields.names.isEmpty {
                for id in order {
                    for index in indexes[id] ?? [] {
                        outcomes[index] = .delivered(
                            record: TargetRecordID(model: "Opportunity", id: id), note: "no status fields configured")
                    }
                }
            } else {
                let records = order.map { id in
                    SalesforceRecord(type: "Opportunity", id: id, fields: fields.values(newest[id]!.update.status))
                }
                do throws(SalesforceAPIError) {
                    let results = try await client.updateCollection(records, allOrNone: false, logger: logger)
                    for (id, result) in zip(order, results) {
                        let outcome = outcome(of: result, opportunity: id)
                        for index in indexes[id] ?? [] { outcomes[index] = outcome }
                    }
                } catch {
                    logger.debug(
                        "salesforce status update failed",
                        metadata: ["weft.system": "\(system)", "error": "\(error)", "weft.batch.size": "\(records.count)"])
                    let outcome = fieldRejection(codes: error.codes, fields: error.fields, messages: [error.message]) ?? error.outcome
                    for id in order { for index in indexes[id] ?? [] { outcomes[index] = outcome } }
                }
            }
        }
        return outcomes.map { $0 ?? .retry(DeliveryFailure(kind: .transport, message: "not attempted")) }
    }

    /// What one record's save result means for its commands.
    func outcome(of result: SalesforceSaveResult, opportunity id: String) -> DeliveryOutcome {
        guard let failure = result.failure else {
            return .delivered(record: TargetRecordID(model: "Opportunity", id: result.id ?? id), note: nil)
        }
        let codes = Set(failure.codes)
        if codes.contains("ENTITY_IS_DELETED") {
            return .reject(
                DeliveryFailure(
                    kind: .rejected,
                    message: "Salesforce opportunity \(id) is deleted (in the recycle bin); its status is not written "
                        + "unless it is restored"))
        }
        if !codes.isDisjoint(with: Self.missingRecordCodes) {
            return .reject(
                DeliveryFailure(
                    kind: .rejected,
                    message: "Salesforce has no opportunity \(id) (deleted for good, or not visible to the integration user); "
                        + "nothing to update"))
        }
        if let rejection = fieldRejection(
            codes: failure.codes, fields: result.errors.flatMap(\.fields), messages: result.errors.map(\.message))
        {
            return rejection
        }
        return failure.outcome
    }

    static let missingRecordCodes: Set<String> = ["INVALID_CROSS_REFERENCE_KEY", "NOT_FOUND", "MALFORMED_ID", "INVALID_ID_FIELD"]
    static let missingFieldCodes: Set<String> = ["INVALID_FIELD", "NO_SUCH_COLUMN", "INVALID_FIELD_FOR_INSERT_UPDATE"]
    static let fieldTypeCodes: Set<String> = ["INVALID_TYPE_ON_FIELD_IN_RECORD", "JSON_PARSER_ERROR", "STRING_TOO_LONG"]
    static let picklistCodes: Set<String> = ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "INVALID_FIELD_VALUE"]

    /// What is wrong with a status field.
    enum FieldProblem {
        /// `INVALID_FIELD`, `INVALID_FIELD_FOR_INSERT_UPDATE`: missing, or not editable by the integration user.
        case missing
        /// `INVALID_TYPE_ON_FIELD_IN_RECORD`, `STRING_TOO_LONG`…: the field cannot hold Weft's text values.
        case type
        /// `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`: a restricted picklist lacks one of Weft's values.
        case picklist

        init?(codes: Set<String>) {
            if !codes.isDisjoint(with: SalesforceTarget.missingFieldCodes) {
                self = .missing
            } else if !codes.isDisjoint(with: SalesforceTarget.fieldTypeCodes) {
                self = .type
            } else if !codes.isDisjoint(with: SalesforceTarget.picklistCodes) {
                self = .picklist
            } else {
                return nil
            }
        }
    }

    /// A rejection that names the status field to create or fix, when the errors are about one of them.
    func fieldRejection(codes: [String], fields named: [String], messages: [String]) -> DeliveryOutcome? {
        guard let problem = FieldProblem(codes: Set(codes)) else { return nil }
        let culprits = culpritFields(named: named, messages: messages)
        let them = culprits.count == 1 ? "it" : "them"
        let place = "Setup → Object Manager → Opportunity → Fields & Relationships"
        let detail = messages.filter { !$0.isEmpty }.joined(separator: "; ")
        let (what, advice) =
            switch problem {
            case .missing:
                (
                    "does not have, or does not let the integration user edit,",
                    "create \(them) on Opportunity (\(place)) as Text or Picklist and give the integration user Edit "
                        + "access (field-level security), or change systems.\(system).status_fields"
                )
            case .type: ("cannot store Weft's text values in", "make \(them) a Text (40) or Picklist field (\(place))")
            case .picklist:
                (
                    "refuses a value of",
                    "add Weft's values to the picklist (\(place)) or make it unrestricted; see docs/connectors/salesforce.md"
                )
            }
        return .reject(
            DeliveryFailure(
                kind: .rejected,
                message: "Salesforce \(what) the Opportunity status field \(culprits.joined(separator: ", "))"
                    + "\(detail.isEmpty ? "" : " (\(detail))"): \(advice)"))
    }

    /// The status fields an error is about: those it names, else those its message quotes, else every configured one.
    func culpritFields(named: [String], messages: [String]) -> [String] {
        let configured = fields.names
        let lowered = Dictionary(configured.map { ($0.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        var found: [String] = []
        for name in named where !found.contains(lowered[name.lowercased()] ?? name) {
            found.append(lowered[name.lowercased()] ?? name)
        }
        if found.isEmpty {
            for name in configured where messages.contains(where: { $0.lowercased().contains(name.lowercased()) }) {
                found.append(name)
            }
        }
        return found.isEmpty ? configured : found
    }
}

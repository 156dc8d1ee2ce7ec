public import AsyncHTTPClient
import Foundation
public import Logging
public import WeftCore

/// Writes accounts to Salesforce: the fields another system owns (`AccountSync.fields`, `contactFields`), with one
/// sObject Collections update (`PATCH /composite/sobjects`, `allOrNone: false`) of the Accounts and one of their
/// Contacts per 200 records. An owner named by email is written as the `OwnerId` of the active User with that email
/// (one SOQL query for the emails of a call).
///
/// Per account: success → delivered; a deleted or unknown Account → rejected; an unknown owner → rejected naming the
/// email; a field that is missing, not editable or refuses the value → rejected naming the field; `UNABLE_TO_LOCK_ROW`
/// → retried. A state the org's State and Country/Territory Picklists lack for the country (a `FIELD_INTEGRITY_EXCEPTION`
/// about the state alone) → written again without a state, delivered with a note. A Contact Salesforce no longer has is
/// noted, not a failure (the account was written). A failed call (request limit, 5xx, transport) → every sync it
/// carried retried; a 401 re-authenticates once inside the client.
public struct SalesforceAccountWriter: Sendable {
    let client: SalesforceClient
    public let mapping: SalesforceAccountMapping
    public let system: SystemName

    /// - Parameters:
    ///   - configuration: the org.
    ///   - mapping: where accounts' fields are.
    ///   - system: the configured system name.
    ///   - httpClient: the shared HTTP client.
    ///   - gate: the org's request gate.
    ///   - limits: receives every `Sforce-Limit-Info` reading.
    public init(
        configuration: SalesforceConfiguration, mapping: SalesforceAccountMapping, system: SystemName,
        httpClient: HTTPClient, gate: any RequestGate, limits: SalesforceLimitTracker = SalesforceLimitTracker()
    ) {
        self.init(
            client: SalesforceClient(
                http: OutboundHTTPClient(client: httpClient, gate: gate), configuration: configuration, limits: limits),
            mapping: mapping, system: system)
    }

    /// A writer over an existing client (sharing its authenticator, so the org's reader, target and writer use one
    /// token).
    package init(client: SalesforceClient, mapping: SalesforceAccountMapping, system: SystemName) {
        self.client = client
        self.mapping = mapping
        self.system = system
    }

    /// The syncs of one Account: the newest sync's account and contacts (later in the input is newer), the fields any
    /// of them names.
    private struct Write {
        var indexes: [Int]
        var account: Account
        var fields: Set<String>
        var contactFields: Set<String>
        var contacts: [String: Contact]
        var outcome: DeliveryOutcome?
        var missingContacts: [String] = []
    }

    /// Writes the syncs; one outcome per sync, in input order.
    public func sync(_ syncs: [AccountSync], logger: Logger) async -> [DeliveryOutcome] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: syncs.count)
        var order: [String] = []
        var writes: [String: Write] = [:]
        for (index, sync) in syncs.enumerated() {
            let id = sync.account.ref.id
            guard SalesforceOutboundMessage.isRecordID(id), id.hasPrefix("001") else {
                outcomes[index] = .reject(
                    DeliveryFailure(
                        kind: .rejected,
                        message: "'\(id)' is not a Salesforce Account id; account \(sync.account.ref) cannot be updated"))
                continue
            }
            let contacts = sync.contacts.filter {
                $0.ref.kind == .contact && $0.ref.system == sync.account.ref.system && SalesforceOutboundMessage.isRecordID($0.ref.id)
            }
            if var write = writes[id] {
                write.indexes.append(index)
                write.account = sync.account
                write.fields.formUnion(sync.fields)
                write.contactFields.formUnion(sync.contactFields)
                for contact in contacts { write.contacts[contact.ref.id] = contact }
                writes[id] = write
            } else {
                order.append(id)
                writes[id] = Write(
                    indexes: [index], account: sync.account, fields: Set(sync.fields), contactFields: Set(sync.contactFields),
                    contacts: Dictionary(contacts.map { ($0.ref.id, $0) }) { _, newest in newest })
            }
        }
        let ownerIDs = await resolveOwners(&writes, order: order, logger: logger)

        // Accounts.
        var accountRecords: [SalesforceRecord] = []
        for id in order {
            guard let write = writes[id], write.outcome == nil else { continue }
            let values = mapping.accountValues(
                write.account, fields: write.fields, ownerID: write.account.owner.flatMap { ownerIDs[$0.lowercased()] })
            if !values.isEmpty { accountRecords.append(SalesforceRecord(type: "Account", id: id, fields: values)) }
        }
        // A state the org's picklists do not have for the country (by default few countries have states there) would
        // refuse the whole account: it is written again without a state, and the delivery says so.
        var withoutState: [SalesforceRecord] = []
        var stateNotes: [String: String] = [:]
        func settle(_ id: String, _ result: RecordResult) {
            switch result {
            case .written: break
            case .missing(let deleted):
                writes[id]?.outcome = .reject(
                    DeliveryFailure(
                        kind: .rejected,
                        message: "Salesforce has no account \(id) ("
                            + (deleted
                                ? "it is deleted, in the recycle bin: restore it to have it updated"
                                : "deleted for good, or not visible to the integration user") + "); nothing to update"))
            case .failed(let outcome): writes[id]?.outcome = outcome
            case .stateRefused(let outcome, let message):
                guard var record = accountRecords.first(where: { $0.id == id }) else {
                    writes[id]?.outcome = outcome
                    return
                }
                let state = Self.stateFields.compactMap { record.fields[$0]?.stringValue }.first ?? ""
                for field in Self.stateFields where record.fields[field] != nil { record.fields[field] = .null }
                withoutState.append(record)
                stateNotes[id] =
                    "Salesforce has no state \(state) for the account's country (\(message)); the account was written without "
                    + "a state: add the state to the org's State and Country/Territory Picklists (Setup) to have it shown"
            }
        }
        for (id, result) in await update(accountRecords, logger: logger) { settle(id, result) }
        for (id, result) in await update(withoutState, logger: logger) {
            if case .stateRefused(let outcome, _) = result { writes[id]?.outcome = outcome } else { settle(id, result) }
        }

        // Their contacts.
        var contactRecords: [SalesforceRecord] = []
        var accountOfContact: [String: String] = [:]
        for id in order {
            guard let write = writes[id], write.outcome == nil, !write.contactFields.isEmpty else { continue }
            for contactID in write.contacts.keys.sorted() {
                guard let contact = write.contacts[contactID], accountOfContact[contactID] == nil else { continue }
                let values = SalesforceAccountMapping.contactValues(contact, fields: write.contactFields)
                guard !values.isEmpty else { continue }
                contactRecords.append(SalesforceRecord(type: "Contact", id: contactID, fields: values))
                accountOfContact[contactID] = id
            }
        }
        for (contactID, result) in await update(contactRecords, logger: logger) {
            guard let id = accountOfContact[contactID] else { continue }
            switch result {
            case .written: break
            case .missing: writes[id]?.missingContacts.append(contactID)
            case .failed(let outcome), .stateRefused(let outcome, _): if writes[id]?.outcome == nil { writes[id]?.outcome = outcome }
            }
        }

        for id in order {
            guard let write = writes[id] else { continue }
            let missing = write.missingContacts.sorted()
            let notes = [
                stateNotes[id],
                missing.isEmpty
                    ? nil
                    : "Salesforce has no contact \(missing.joined(separator: ", ")) (deleted, or not visible to the "
                        + "integration user); not updated",
            ].compactMap { $0 }
            let outcome =
                write.outcome
                ?? .delivered(
                    record: TargetRecordID(model: "Account", id: id), note: notes.isEmpty ? nil : notes.joined(separator: "; "))
            for index in write.indexes { outcomes[index] = outcome }
        }
        return outcomes.map { $0 ?? .retry(DeliveryFailure(kind: .transport, message: "not attempted")) }
    }

    // MARK: Owners

    /// Finds the active Users of the owner emails the writes set through a lookup (User id by lower-case email); a
    /// write whose owner has none is rejected naming the email, a failed query fails the writes that needed it.
    private func resolveOwners(_ writes: inout [String: Write], order: [String], logger: Logger) async -> [String: String] {
        guard let lookup = mapping.ownerLookup else { return [:] }
        let needing = order.filter { id in writes[id].map { $0.fields.contains("owner") && $0.account.owner != nil } ?? false }
        let emails = Set(needing.compactMap { writes[$0]?.account.owner?.lowercased() })
        guard !emails.isEmpty else { return [:] }
        let found: [String: String]
        do throws(SalesforceAPIError) {
            found = try await activeUsers(emails: emails.sorted(), field: lookup.userField, logger: logger)
        } catch {
            for id in needing { writes[id]?.outcome = error.outcome }
            return [:]
        }
        for id in needing {
            guard let email = writes[id]?.account.owner, found[email.lowercased()] == nil else { continue }
            writes[id]?.outcome = .reject(
                DeliveryFailure(
                    kind: .rejected,
                    message: "Salesforce has no active user with the \(lookup.userField) \(email) to own account \(id): add "
                        + "or activate the user in Salesforce (Setup → Users), or change the account's owner"))
        }
        return found
    }

    /// `SELECT Id, Username, <field> FROM User WHERE <field> IN (…) AND IsActive = true`: the User id per value (lower
    /// case). Several active Users with one email (Salesforce allows it) → the one whose Username is the email, else
    /// the lowest id, so the choice is stable.
    func activeUsers(emails: [String], field: String, logger: Logger) async throws(SalesforceAPIError) -> [String: String] {
        var chosen: [String: (id: String, exact: Bool)] = [:]
        for start in stride(from: 0, to: emails.count, by: 200) {
            var query = SOQLBuilder("SELECT Id, Username")
            if field.lowercased() != "username" {
                query.literal(", ")
                query.fields([field])
            }
            query.literal(" FROM User WHERE ")
            query.fields([field])
            query.literal(" IN ")
            query.values(Array(emails[start..<min(emails.count, start + 200)]))
            query.literal(" AND IsActive = true")
            for user in try await client.query(query.soql, logger: logger) {
                guard let id = user.id, let email = user.string(field)?.lowercased() else { continue }
                let exact = user.string("Username")?.lowercased() == email
                if let current = chosen[email], exact == current.exact ? id >= current.id : current.exact { continue }
                chosen[email] = (id, exact)
            }
        }
        return chosen.mapValues(\.id)
    }

    // MARK: Updating

    /// What an update did to one record.
    private enum RecordResult {
        case written
        /// Salesforce has no such record: `deleted` when it is in the recycle bin.
        case missing(deleted: Bool)
        case failed(DeliveryOutcome)
        /// Refused for its state alone (`FIELD_INTEGRITY_EXCEPTION` on `BillingStateCode`/`BillingState`): the
        /// rejection, and Salesforce's message.
        case stateRefused(DeliveryOutcome, message: String)
    }

    /// One sObject Collections update per 200 records; the result per record id.
    private func update(_ records: [SalesforceRecord], logger: Logger) async -> [(String, RecordResult)] {
        guard !records.isEmpty else { return [] }
        do throws(SalesforceAPIError) {
            let results = try await client.updateCollection(records, allOrNone: false, logger: logger)
            return zip(records, results).map { record, result in (record.id ?? "", self.result(of: result, record)) }
        } catch {
            logger.debug(
                "salesforce account update failed",
                metadata: ["weft.system": "\(system)", "error": "\(error)", "weft.batch.size": "\(records.count)"])
            return records.map { record in
                let outcome =
                    fieldRejection(record, codes: error.codes, fields: error.fields, messages: [error.message]) ?? error.outcome
                return (record.id ?? "", .failed(outcome))
            }
        }
    }

    private func result(of result: SalesforceSaveResult, _ record: SalesforceRecord) -> RecordResult {
        guard let failure = result.failure else { return .written }
        let codes = Set(failure.codes)
        if codes.contains("ENTITY_IS_DELETED") { return .missing(deleted: true) }
        if !codes.isDisjoint(with: Self.missingRecordCodes) { return .missing(deleted: false) }
        if let rejection = fieldRejection(
            record, codes: failure.codes, fields: result.errors.flatMap(\.fields), messages: result.errors.map(\.message))
        {
            let named = Set(result.errors.flatMap(\.fields))
            if codes == ["FIELD_INTEGRITY_EXCEPTION"], !named.isEmpty, named.isSubset(of: Self.stateFields),
                Self.stateFields.contains(where: { record.fields[$0]?.stringValue != nil })
            {
                return .stateRefused(rejection, message: result.errors.map(\.message).joined(separator: "; "))
            }
            return .failed(rejection)
        }
        return .failed(failure.outcome)
    }

    static let stateFields: Set<String> = ["BillingStateCode", "BillingState"]
    static let missingRecordCodes: Set<String> = ["INVALID_CROSS_REFERENCE_KEY", "NOT_FOUND", "MALFORMED_ID", "INVALID_ID_FIELD"]
    static let fieldCodes: Set<String> = [
        "INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", "NO_SUCH_COLUMN", "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "FIELD_INTEGRITY_EXCEPTION", "STRING_TOO_LONG", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "INVALID_FIELD_VALUE",
        "INVALID_EMAIL_ADDRESS", "JSON_PARSER_ERROR",
    ]

    /// A rejection naming the Salesforce fields (and the account fields they hold) an error is about, when it is about
    /// fields: those it names, else those of the record its messages quote, else every field of the record.
    private func fieldRejection(_ record: SalesforceRecord, codes: [String], fields named: [String], messages: [String])
        -> DeliveryOutcome?
    {
        guard !Set(codes).isDisjoint(with: Self.fieldCodes) else { return nil }
        let sent = record.fields.keys.sorted()
        let lowered = Dictionary(sent.map { ($0.lowercased(), $0) }) { first, _ in first }
        var culprits: [String] = []
        for name in named where !culprits.contains(lowered[name.lowercased()] ?? name) {
            culprits.append(lowered[name.lowercased()] ?? name)
        }
        if culprits.isEmpty {
            culprits = sent.filter { name in messages.contains { $0.lowercased().contains(name.lowercased()) } }
        }
        if culprits.isEmpty { culprits = sent }
        let shown = culprits.map { name in canonicalName(name, of: record.type).map { "\(name) (\($0))" } ?? name }
        let detail = messages.filter { !$0.isEmpty }.joined(separator: "; ")
        let advice =
            codes.lazy.compactMap(SalesforceErrorCode.advice).first
            ?? "check the field's type and the integration user's Edit access (field-level security)"
        let place = "Setup → Object Manager → \(record.type) → Fields & Relationships"
        return .reject(
            DeliveryFailure(
                kind: .rejected,
                message: "Salesforce refused the \(record.type) field\(culprits.count == 1 ? "" : "s") "
                    + "\(shown.joined(separator: ", ")) of \(record.type.lowercased()) \(record.id ?? "")"
                    + "\(detail.isEmpty ? "" : " (\(codes.joined(separator: ", ")): \(detail))"): \(advice) (\(place)), or "
                    + "change systems.\(system) account field mapping"))
    }

    /// The account or contact field a Salesforce field holds (`VAT_Number__c` → `taxID`).
    private func canonicalName(_ field: String, of type: String) -> String? {
        let name = field.lowercased()
        if type == "Contact" {
            switch name {
            case "firstname", "lastname": return "name"
            case "email": return "email"
            case "phone": return "phone"
            case "title": return "jobTitle"
            default: return nil
            }
        }
        let mapped: [(String?, String)] = [
            ("Name", "name"), ("Website", "domain"), ("Phone", "phone"), (mapping.segmentField, "segment"),
            (mapping.vatField, "taxID"), (mapping.paymentTermsField, "paymentTerms"),
            (mapping.ownerLookup?.idField ?? mapping.ownerEmailField, "owner"),
        ]
        if let match = mapped.first(where: { $0.0?.lowercased() == name }) { return match.1 }
        let address = SalesforceAccountMapping.addressFields(codes: false) + SalesforceAccountMapping.addressFields(codes: true)
        return address.contains(where: { $0.lowercased() == name }) ? "address" : nil
    }
}

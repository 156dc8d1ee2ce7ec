import Foundation
import Logging
import WeftCore

extension FreshdeskTarget {
    /// The company step, then the customer's contact in it (see `FreshdeskTarget+Contact.swift`). When the contact
    /// step fails the whole command retries or is rejected; the next attempt finds the company by the account field.
    func sync(_ entitlement: DeskEntitlement, logger: Logger) async throws(FreshdeskError) -> DeliveryOutcome {
        let outcome = try await syncCompany(entitlement, logger: logger)
        guard case .delivered(let record, let note) = outcome, let record, let company = Int64(record.id) else {
            return outcome
        }
        let contactNote = try await placeContact(of: entitlement, in: company, logger: logger)
        let notes = [note, contactNote].compactMap { $0 }
        return .delivered(record: record, note: notes.isEmpty ? nil : notes.joined(separator: "; "))
    }

    /// Find (account field) → adopt (domain) → create, then write the fields. Never renames a company.
    func syncCompany(_ entitlement: DeskEntitlement, logger: Logger) async throws(FreshdeskError) -> DeliveryOutcome {
        guard let accountField = configuration.fields.account, !accountField.isEmpty else {
            return .reject(
                DeliveryFailure(
                    kind: .rejected,
                    message: "freshdesk fields.account is required: name the company field that holds Weft's account id"))
        }
        let accountID = entitlement.account.xmlidName
        let values = configuration.fields.values(for: entitlement)

        // 1. The company that carries the account id.
        let found: [FreshdeskCompany] = try await client.searchCompanies(
            "\(accountField):'\(Self.quoted(accountID))'", logger: logger
        ).filter { $0.text(accountField) == accountID }.sorted { $0.id < $1.id }
        if let company = found.first {
            if found.count > 1 {
                logger.info(
                    "several Freshdesk companies carry the account id; writing the lowest id",
                    metadata: ["weft.freshdesk.company_ids": "\(found.map(\.id))"])
            }
            return try await write(values, to: company, logger: logger)
        }

        // 2. A company with the account's domain and no other Weft account id (re-read: the index may be stale).
        if let domain = entitlement.domain?.lowercased() {
            let candidates: [FreshdeskCompany] = try await client.searchCompanies("domain:'\(Self.quoted(domain))'", logger: logger)
                .filter { $0.domains.contains(domain) }.sorted { $0.id < $1.id }
            for candidate in candidates {
                let company = try await client.company(candidate.id, logger: logger)
                guard company.domains.contains(domain) else { continue }
                let holder = company.text(accountField)
                if holder == accountID { return try await write(values, to: company, logger: logger) }
                if holder == nil {
                    logger.info(
                        "adopting the Freshdesk company with the account's domain",
                        metadata: [
                            "weft.freshdesk.company_id": "\(company.id)",
                            "weft.freshdesk.candidates": "\(candidates.map(\.id))",
                        ])
                    return try await write(values, to: company, logger: logger)
                }
            }
        }

        // 3. Create it; unique names and domains catch what a lagging index missed.
        return try await create(entitlement, accountField: accountField, values: values, logger: logger)
    }

    private func create(
        _ entitlement: DeskEntitlement, accountField: String, values: [String: JSONValue], logger: Logger
    ) async throws(FreshdeskError) -> DeliveryOutcome {
        let accountID = entitlement.account.xmlidName
        var name = Self.companyName(entitlement.name, fallback: accountID)
        var domains = entitlement.domain.map { [$0.lowercased()] } ?? []
        var lastError: FreshdeskError?
        for _ in 0..<4 {
            let body: JSONValue = [
                "name": .string(name), "domains": .array(domains.map(JSONValue.string)),
                "custom_fields": .object(values.filter { !$0.value.isNull }),
            ]
            do throws(FreshdeskError) {
                let company = try await client.createCompany(body, logger: logger)
                logger.info("created Freshdesk company", metadata: ["weft.freshdesk.company_id": "\(company.id)"])
                return Self.delivered(company.id)
            } catch {
                guard error.kind == .conflict else { throw error }
                lastError = error
                let holder: Int64?
                let onName: Bool
                if let clash = error.errors.first(where: { $0.field == "name" }) {
                    onName = true
                    if let id = clash.companyID {
                        holder = id
                    } else {
                        holder = try await companyID(named: name, logger: logger)
                    }
                } else if let clash = error.errors.first(where: { $0.field == "domains" }) {
                    onName = false
                    holder = Self.companyID(inDomainMessage: clash.message)
                } else {
                    throw error
                }
                guard let holder else { throw error }
                let existing = try await client.company(holder, logger: logger)
                let existingAccount = existing.text(accountField)
                if existingAccount == accountID {
                    // Created by an earlier delivery that Weft did not record.
                    return try await write(values, to: existing, logger: logger)
                }
                if existingAccount == nil {
                    logger.info(
                        "adopting the Freshdesk company that holds the account's \(onName ? "name" : "domain")",
                        metadata: ["weft.freshdesk.company_id": "\(existing.id)"])
                    return try await write(values, to: existing, logger: logger)
                }
                // Another account's company: keep ours apart.
                if onName {
                    name = Self.companyName("\(entitlement.name) (\(accountID))", fallback: accountID)
                } else {
                    domains.removeAll { existing.domains.contains($0) }
                }
                logger.info(
                    "the \(onName ? "name" : "domain") belongs to another account's Freshdesk company; creating apart",
                    metadata: ["weft.freshdesk.company_id": "\(existing.id)"])
            }
        }
        throw lastError
            ?? FreshdeskError(kind: .conflict, operation: "create company", message: "could not find a free company name")
    }

    /// Writes the mapped fields that differ; the name and domains stay as they are.
    private func write(_ values: [String: JSONValue], to company: FreshdeskCompany, logger: Logger)
        async throws(FreshdeskError) -> DeliveryOutcome
    {
        let changes = values.filter { key, value in
            let current = company.customFields[key] ?? .null
            if value.isNull { return !(current.isNull || current.stringValue == "") }
            return current != value
        }
        if !changes.isEmpty {
            _ = try await client.updateCompany(company.id, ["custom_fields": .object(changes)], logger: logger)
        }
        return Self.delivered(company.id)
    }

    private func companyID(named name: String, logger: Logger) async throws(FreshdeskError) -> Int64? {
        try await client.autocompleteCompanies(name: name, logger: logger)
            .first { $0.name.lowercased() == name.lowercased() }?.id
    }

    static func delivered(_ id: Int64) -> DeliveryOutcome {
        .delivered(record: TargetRecordID(model: "company", id: String(id)))
    }

    /// `acme.com is already taken by the company with company id:42` → 42.
    static func companyID(inDomainMessage message: String) -> Int64? {
        guard let range = message.range(of: "company id:", options: .backwards) else { return nil }
        return Int64(message[range.upperBound...].prefix { $0.isNumber })
    }

    /// Names are at most 255 characters and never blank.
    static func companyName(_ name: String, fallback: String) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        return String((trimmed.isEmpty ? fallback : trimmed).prefix(255))
    }

    /// Escapes a value for a single-quoted query string.
    static func quoted(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
    }
}

import Foundation
import Logging
import WeftCore

extension FreshdeskTarget {
    /// Makes sure the billing customer's email is a Freshdesk contact of `company`, so tickets they write are filed
    /// under the account. Returns a note for the operator when Weft left something as it found it.
    ///
    /// - No email: nothing to do.
    /// - No contact with the email (`GET /api/v2/contacts?email=`): `POST /api/v2/contacts` with the billing name and
    ///   `company_id`. Emails are unique, so a contact created meanwhile (or by an attempt whose answer was lost) makes
    ///   it a `409` naming the holder (`additional_info.user_id`), which is then handled as found.
    /// - A contact without a company: `PUT /api/v2/contacts/{id}` `{"company_id"}`.
    /// - A contact of this company (as `company_id` or in `other_companies`): nothing.
    /// - A contact of another company: left as it is (noted); Weft does not move contacts.
    ///
    /// Name and email of an existing contact are never written.
    func placeContact(of entitlement: DeskEntitlement, in company: Int64, logger: Logger)
        async throws(FreshdeskError) -> String?
    {
        guard let email = entitlement.email?.trimmingCharacters(in: .whitespaces).lowercased(), !email.isEmpty else {
            return nil
        }
        if let contact = try await client.contacts(email: email, logger: logger).first(where: { $0.email == email }) {
            return try await place(contact, email: email, in: company, logger: logger)
        }
        let body: JSONValue = [
            "name": .string(Self.companyName(entitlement.name, fallback: email)), "email": .string(email),
            "company_id": .int(company),
        ]
        do throws(FreshdeskError) {
            let contact = try await client.createContact(body, logger: logger)
            logger.info(
                "created Freshdesk contact for the customer",
                metadata: ["weft.freshdesk.contact_id": "\(contact.id)", "weft.freshdesk.company_id": "\(company)"])
            return nil
        } catch {
            guard error.kind == .conflict, let clash = error.errors.first(where: { $0.field == "email" }) else {
                throw error
            }
            let holder: FreshdeskContact
            if let id = clash.contactID {
                holder = try await client.contact(id, logger: logger)
            } else if let found = try await client.contacts(email: email, logger: logger).first(where: { $0.email == email }) {
                holder = found
            } else {
                // Not listed: a deleted or blocked contact keeps the email.
                throw FreshdeskError(
                    kind: .conflict, operation: "create contact", status: error.status,
                    message:
                        "a deleted or blocked Freshdesk contact holds the customer's email: restore or purge it in Freshdesk, then replay")
            }
            return try await place(holder, email: email, in: company, logger: logger)
        }
    }

    private func place(_ contact: FreshdeskContact, email: String, in company: Int64, logger: Logger)
        async throws(FreshdeskError) -> String?
    {
        if contact.companyID == company || contact.otherCompanyIDs.contains(company) { return nil }
        if let other = contact.companyID {
            return "contact \(contact.id) (\(email)) stays in company \(other): Weft does not move contacts between companies"
        }
        _ = try await client.updateContact(contact.id, ["company_id": .int(company)], logger: logger)
        logger.info(
            "put the Freshdesk contact into the account's company",
            metadata: ["weft.freshdesk.contact_id": "\(contact.id)", "weft.freshdesk.company_id": "\(company)"])
        return nil
    }
}

import Foundation
import Logging
import WeftCore

extension ZendeskTarget {
    /// Makes sure the billing customer's email is a Zendesk user who belongs to `organization`, so tickets they write
    /// are filed under the account. Returns a note for the operator when Weft left something as it found it.
    ///
    /// - No email: nothing to do.
    /// - No user with the email: `POST /api/v2/users` creates an end user with the billing name, in the organization.
    ///   A plain create, not `create_or_update`: a user the search did not show yet (Zendesk's search index lags) then
    ///   fails with `DuplicateValue` instead of having its name and default organization overwritten, and the command
    ///   retries until the search shows the user.
    /// - A user without an organization: a membership makes the organization the user's default.
    /// - A user already in it (default or not): nothing.
    /// - A user in another organization: a second membership is added (`POST /api/v2/organization_memberships`);
    ///   where the account does not allow multiple organizations Zendesk refuses it (422) and the user stays where an
    ///   agent put them, said in the note. Weft never writes `organization_id`, which would move the user.
    /// - An agent or admin with the email: left alone (noted).
    ///
    /// Name, email and role of an existing user are never written.
    func placeUser(of entitlement: DeskEntitlement, in organization: Int64, logger: Logger)
        async throws(ZendeskAPIError) -> String?
    {
        guard let email = entitlement.email?.trimmingCharacters(in: .whitespaces).lowercased(), !email.isEmpty else {
            return nil
        }
        guard let user = try await user(email: email, logger: logger) else {
            let id = try await createUser(email: email, name: entitlement.name, organization: organization, logger: logger)
            logger.info(
                "created zendesk user for the customer",
                metadata: ["weft.zendesk.user": "\(id)", "weft.zendesk.organization": "\(organization)"])
            return nil
        }
        guard user.role == "end-user" else {
            return "\(email) is Zendesk \(user.role) \(user.id): not placed in an organization"
        }
        if user.organizationID == organization { return nil }
        if user.organizationID == nil {
            try await addMembership(user: user.id, organization: organization, logger: logger)
            return nil
        }
        if try await organizationIDs(ofUser: user.id, logger: logger).contains(organization) { return nil }
        do {
            try await addMembership(user: user.id, organization: organization, logger: logger)
            logger.info(
                "added a zendesk organization membership to a user of another organization",
                metadata: ["weft.zendesk.user": "\(user.id)", "weft.zendesk.organization": "\(organization)"])
            return nil
        } catch  where error.kind == .invalid {
            // Typically "multiple organizations" is off: moving the user would undo an agent's choice, so don't.
            return
                "user \(user.id) (\(email)) stays in organization \(user.organizationID.map(String.init) ?? "-"): Zendesk refused a second membership (\(error.message)); enable multiple organizations or move the user by hand"
        }
    }

    // MARK: Calls

    /// The user whose email is `email`: `GET /api/v2/users/search.json?query=email:<email>`, the primary email
    /// matching exactly, else the only result (a match on a secondary email identity).
    func user(email: String, logger: Logger) async throws(ZendeskAPIError) -> ZendeskUser? {
        let answer = try await client.get("/api/v2/users/search.json", query: [("query", "email:\(email)")], logger: logger)
        let found = (answer["users"]?.arrayValue ?? []).compactMap { ZendeskUser($0) }.sorted { $0.id < $1.id }
        return found.first(where: { $0.email == email }) ?? (found.count == 1 ? found.first : nil)
    }

    /// `POST /api/v2/users.json`: an end user in `organization`, without the verification email.
    private func createUser(email: String, name: String, organization: Int64, logger: Logger)
        async throws(ZendeskAPIError) -> Int64
    {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        let user: JSONValue = [
            "name": .string(trimmed.isEmpty ? email : trimmed), "email": .string(email),
            "organization_id": .int(organization), "role": "end-user", "skip_verify_email": true,
        ]
        do throws(ZendeskAPIError) {
            let answer = try await client.post("/api/v2/users.json", ["user": user], logger: logger)
            guard let id = answer["user"]?["id"]?.intValue else {
                throw ZendeskAPIError(kind: .invalidResponse, message: "Zendesk created a user without an id")
            }
            return id
        } catch  where error.isDuplicate("email") {
            // A user the search does not show yet (index lag): a later attempt finds and places it.
            throw ZendeskAPIError(
                kind: .unavailable, message: "a Zendesk user with the customer's email exists but is not searchable yet")
        }
    }

    /// `GET /api/v2/users/{id}/organization_memberships.json`: the organizations the user belongs to.
    private func organizationIDs(ofUser id: Int64, logger: Logger) async throws(ZendeskAPIError) -> Set<Int64> {
        var ids: Set<Int64> = []
        var query = [("page[size]", "100")]
        while true {
            let answer = try await client.get(
                "/api/v2/users/\(id)/organization_memberships.json", query: query, logger: logger)
            for membership in answer["organization_memberships"]?.arrayValue ?? [] {
                if let organization = membership["organization_id"]?.intValue { ids.insert(organization) }
            }
            guard answer["meta"]?["has_more"]?.boolValue == true,
                let after = answer["meta"]?["after_cursor"]?.stringValue
            else { break }
            query = [("page[size]", "100"), ("page[after]", after)]
        }
        return ids
    }

    /// `POST /api/v2/organization_memberships.json`; "already a member" (a concurrent attempt) counts as done.
    private func addMembership(user: Int64, organization: Int64, logger: Logger) async throws(ZendeskAPIError) {
        let membership: JSONValue = [
            "user_id": .int(user), "organization_id": .int(organization),
        ]
        do {
            _ = try await client.post(
                "/api/v2/organization_memberships.json", ["organization_membership": membership], logger: logger)
        } catch  where error.isDuplicate("user_id") || error.isDuplicate("organization_id") {
            return
        }
    }
}

/// The members of a Zendesk user the connector reads.
struct ZendeskUser: Sendable, Hashable {
    var id: Int64
    var email: String?
    var role: String
    var organizationID: Int64?

    init?(_ json: JSONValue?) {
        guard let json, let id = json["id"]?.intValue else { return nil }
        self.id = id
        self.email = json["email"]?.stringValue?.lowercased()
        self.role = json["role"]?.stringValue ?? "end-user"
        self.organizationID = json["organization_id"]?.intValue
    }
}

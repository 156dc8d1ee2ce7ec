import Foundation
import WeftSimKit

extension ZendeskState {
    func userJSON(_ user: User, baseURL: String) -> JSON {
        .object(
            JSONObject([
                ("id", .int(user.id)),
                ("url", .string("\(baseURL)/api/v2/users/\(user.id).json")),
                ("name", .string(user.name)),
                ("email", .from(user.email)),
                ("created_at", .string(Timestamps.iso8601(user.createdAt))),
                ("updated_at", .string(Timestamps.iso8601(user.updatedAt))),
                ("time_zone", "UTC"),
                ("phone", .null),
                ("locale", "en-US"),
                ("organization_id", .from(user.organizationID)),
                ("role", .string(user.role)),
                ("verified", true),
                ("external_id", .from(user.externalID)),
                ("tags", .strings(user.tags)),
                ("active", true),
                ("suspended", false),
                ("user_fields", .object(JSONObject(user.userFields.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }))),
            ]))
    }

    func showUser(_ id: Int, _ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        guard let user = users[id] else { throw .notFound }
        return APIAnswer(status: 200, body: ["user": userJSON(user, baseURL: request.baseURL)])
    }

    /// Matches by `external_id`, then by `email`; 201 when created, 200 when updated. On a match every member given
    /// is written: `name` replaces the name, `organization_id` moves the default organization membership.
    mutating func createOrUpdateUser(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let input = try root(request, "user")
        let externalID = Self.text(input["external_id"]).flatMap { $0.isEmpty ? nil : $0 }
        let email = Self.text(input["email"])?.lowercased()
        let match =
            externalID.flatMap { id in users.values.first(where: { Self.same($0.externalID, id) }) }
            ?? email.flatMap { email in users.values.first(where: { Self.same($0.email, email) }) }
        if var user = match {
            let organization = try apply(input, to: &user)
            user.updatedAt = now
            users[user.id] = user
            if let organization { setDefaultOrganization(user: user.id, to: organization) }
            return APIAnswer(status: 200, body: ["user": userJSON(users[user.id]!, baseURL: request.baseURL)])
        }
        let user = try insertUser(input, nameDefaultsToEmail: true)
        return APIAnswer(status: 201, body: ["user": userJSON(user, baseURL: request.baseURL)])
    }

    /// `POST /users`: 201; an email another user has → 422 `DuplicateValue` (nothing is updated).
    mutating func createUser(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let user = try insertUser(try root(request, "user"), nameDefaultsToEmail: false)
        return APIAnswer(status: 201, body: ["user": userJSON(user, baseURL: request.baseURL)])
    }

    /// `GET /users/search?query=` or `?external_id=`: `query` is `email:<address>` (exact, case-insensitive) or
    /// free text matched against the whole email and, as a substring, the name. No index lag is modelled.
    func searchUsers(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let all = users.keys.sorted().compactMap { users[$0] }
        let matches: [User]
        if let externalID = request.query["external_id"] {
            matches = all.filter { Self.same($0.externalID, externalID) }
        } else if let query = request.query["query"]?.trimmingCharacters(in: .whitespaces), !query.isEmpty {
            if query.lowercased().hasPrefix("email:") {
                let email = String(query.dropFirst("email:".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
                matches = all.filter { Self.same($0.email, email) }
            } else {
                matches = all.filter { Self.same($0.email, query) || $0.name.lowercased().contains(query.lowercased()) }
            }
        } else {
            throw .badRequest("InvalidValue", "Provide query or external_id")
        }
        return Self.searchAnswer(matches.map { userJSON($0, baseURL: request.baseURL) }, key: "users")
    }

    /// Creates an end user (unless `role` says otherwise); without `organization_id`, a user whose email domain is in
    /// an organization's `domain_names` joins it.
    private mutating func insertUser(_ input: JSONObject, nameDefaultsToEmail: Bool) throws(ZendeskError) -> User {
        let email = Self.text(input["email"])?.lowercased()
        guard let name = Self.text(input["name"]) ?? (nameDefaultsToEmail ? email : nil), !name.isEmpty else {
            throw .recordInvalid(field: "name", description: "Name: is too short (minimum one character)", error: "InvalidValue")
        }
        var user = User(
            id: 0, name: name, email: nil, externalID: nil, organizationID: nil, role: "end-user", createdAt: now,
            updatedAt: now)
        let organization = try apply(input, to: &user)
        user.organizationID = nil
        user.id = makeID()
        users[user.id] = user
        if let target = organization ?? user.email.flatMap({ organizationMapped(email: $0) }) {
            addMembership(user: user.id, organization: target, asDefault: true)
        }
        return users[user.id]!
    }

    /// Writes the members given to `user`; returns the `organization_id` given (`.some(nil)` to clear it), which the
    /// caller applies through the memberships.
    private func apply(_ input: JSONObject, to user: inout User) throws(ZendeskError) -> Int?? {
        if let name = Self.text(input["name"]), !name.isEmpty { user.name = name }
        if let value = input["email"] {
            let email = Self.text(value)?.lowercased()
            if let email {
                guard email.split(separator: "@").count == 2 else {
                    throw .recordInvalid(field: "email", description: "Email: \(email) is not properly formatted", error: "InvalidFormat")
                }
                if users.values.contains(where: { $0.id != user.id && Self.same($0.email, email) }) {
                    throw .recordInvalid(
                        field: "email", description: "Email: \(email) is already being used by another user",
                        error: "DuplicateValue")
                }
            }
            user.email = email
        }
        if let value = input["external_id"] { user.externalID = Self.text(value).flatMap { $0.isEmpty ? nil : $0 } }
        var organization: Int??
        if let value = input["organization_id"] {
            if let id = value.int {
                guard organizations[id] != nil else {
                    throw .recordInvalid(
                        field: "organization_id", description: "Organization: is invalid", error: "InvalidValue")
                }
                organization = .some(id)
            } else {
                organization = .some(nil)
            }
        }
        if let role = Self.text(input["role"]), ["end-user", "agent", "admin"].contains(role) { user.role = role }
        if let tags = input["tags"] { user.tags = Self.list(tags) }
        if let fields = input["user_fields"]?.object {
            for (key, value) in fields { user.userFields[key] = value }
        }
        return organization
    }

    /// Zendesk's user mapping: a new user whose email domain is in an organization's `domain_names` joins it (the
    /// first such organization by name when several list the domain).
    func organizationMapped(email: String) -> Int? {
        guard let domain = email.split(separator: "@").last.map({ $0.lowercased() }) else { return nil }
        return organizations.values.filter { $0.domainNames.contains(domain) }
            .min(by: { ($0.name.lowercased(), $0.id) < ($1.name.lowercased(), $1.id) })?.id
    }
}

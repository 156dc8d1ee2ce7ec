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

    /// Matches by `external_id`, then by `email`; 201 when created, 200 when updated.
    mutating func createOrUpdateUser(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let input = try root(request, "user")
        let externalID = Self.text(input["external_id"]).flatMap { $0.isEmpty ? nil : $0 }
        let email = Self.text(input["email"])?.lowercased()
        let match =
            externalID.flatMap { id in users.values.first(where: { Self.same($0.externalID, id) }) }
            ?? email.flatMap { email in users.values.first(where: { Self.same($0.email, email) }) }
        if var user = match {
            try apply(input, to: &user)
            user.updatedAt = now
            users[user.id] = user
            return APIAnswer(status: 200, body: ["user": userJSON(user, baseURL: request.baseURL)])
        }
        guard let name = Self.text(input["name"]) ?? email, !name.isEmpty else {
            throw .recordInvalid(field: "name", description: "Name: is too short (minimum one character)", error: "InvalidValue")
        }
        var user = User(
            id: 0, name: name, email: nil, externalID: nil, organizationID: nil, role: "end-user", createdAt: now,
            updatedAt: now)
        try apply(input, to: &user)
        if user.organizationID == nil, let email = user.email { user.organizationID = organizationMapped(email: email) }
        user.id = makeID()
        users[user.id] = user
        return APIAnswer(status: 201, body: ["user": userJSON(user, baseURL: request.baseURL)])
    }

    private func apply(_ input: JSONObject, to user: inout User) throws(ZendeskError) {
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
        if let value = input["organization_id"] {
            if let id = value.int {
                guard organizations[id] != nil else {
                    throw .recordInvalid(
                        field: "organization_id", description: "Organization: is invalid", error: "InvalidValue")
                }
                user.organizationID = id
            } else {
                user.organizationID = nil
            }
        }
        if let role = Self.text(input["role"]), ["end-user", "agent", "admin"].contains(role) { user.role = role }
        if let tags = input["tags"] { user.tags = Self.list(tags) }
        if let fields = input["user_fields"]?.object {
            for (key, value) in fields { user.userFields[key] = value }
        }
    }

    /// Zendesk's user mapping: a new user whose email domain is in an organization's `domain_names` joins it (the
    /// first such organization by name when several list the domain).
    func organizationMapped(email: String) -> Int? {
        guard let domain = email.split(separator: "@").last.map({ $0.lowercased() }) else { return nil }
        return organizations.values.filter { $0.domainNames.contains(domain) }
            .min(by: { ($0.name.lowercased(), $0.id) < ($1.name.lowercased(), $1.id) })?.id
    }
}

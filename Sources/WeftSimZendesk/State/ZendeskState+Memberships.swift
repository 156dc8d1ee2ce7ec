import WeftSimKit

extension ZendeskState {
    // MARK: Rendering

    func membershipJSON(_ membership: OrganizationMembership, baseURL: String) -> JSON {
        .object(
            JSONObject([
                ("url", .string("\(baseURL)/api/v2/organization_memberships/\(membership.id).json")),
                ("id", .int(membership.id)),
                ("user_id", .int(membership.userID)),
                ("organization_id", .int(membership.organizationID)),
                ("default", membership.isDefault ? .bool(true) : .null),
                ("organization_name", .from(organizations[membership.organizationID]?.name)),
                ("view_tickets", .bool(true)),
                ("created_at", .string(Timestamps.iso8601(membership.createdAt))),
                ("updated_at", .string(Timestamps.iso8601(membership.updatedAt))),
            ]))
    }

    /// A user's memberships as Zendesk lists them: the default first, then by organization name.
    func memberships(ofUser userID: Int) -> [OrganizationMembership] {
        memberships.values.filter { $0.userID == userID }.sorted { lhs, rhs in
            if lhs.isDefault != rhs.isDefault { return lhs.isDefault }
            let left = organizations[lhs.organizationID]?.name.lowercased() ?? ""
            let right = organizations[rhs.organizationID]?.name.lowercased() ?? ""
            return (left, lhs.id) < (right, rhs.id)
        }
    }

    // MARK: Endpoints

    /// `GET /users/{id}/organization_memberships`.
    func listUserMemberships(_ userID: Int, _ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        guard users[userID] != nil else { throw .notFound }
        let all = memberships(ofUser: userID)
        let q = request.query
        if q["page[size]"] != nil || q["page[after]"] != nil || q["page[before]"] != nil {
            // Cursor pagination, as the list supports: pages of `page[size]` (at most 100) by membership id, with
            // `meta.has_more` and `after_cursor`.
            let items = all.sorted { $0.id < $1.id }.map { (id: $0.id, json: membershipJSON($0, baseURL: request.baseURL)) }
            return try page(items, key: "organization_memberships", request: request)
        }
        // Otherwise all on one page, in the documented order (a user has few memberships).
        let rendered = all.map { membershipJSON($0, baseURL: request.baseURL) }
        return Self.searchAnswer(rendered, key: "organization_memberships")
    }

    /// `POST /organization_memberships` (`{"organization_membership":{"user_id","organization_id","default"}}`).
    ///
    /// 422 when the user or organization is unknown, when the user is already a member, and when the user already
    /// belongs to an organization and the account does not allow multiple organizations.
    mutating func createMembership(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let input = try root(request, "organization_membership")
        guard let userID = input["user_id"]?.int, users[userID] != nil else {
            throw .recordInvalid(field: "user", description: "User cannot be blank", error: "BlankValue")
        }
        guard let organizationID = input["organization_id"]?.int, organizations[organizationID] != nil else {
            throw .recordInvalid(field: "organization", description: "Organization cannot be blank", error: "BlankValue")
        }
        let current = memberships(ofUser: userID)
        if current.contains(where: { $0.organizationID == organizationID }) {
            throw .recordInvalid(
                field: "user_id", description: "User has already been taken", error: "DuplicateValue")
        }
        if !current.isEmpty, !multipleOrganizations {
            throw .recordInvalid(
                field: "base", description: "Multiple organizations is not enabled for this account",
                error: "InvalidValue")
        }
        let makeDefault = current.isEmpty || input["default"]?.bool == true
        let membership = addMembership(user: userID, organization: organizationID, asDefault: makeDefault)
        return APIAnswer(
            status: 201, body: ["organization_membership": membershipJSON(membership, baseURL: request.baseURL)])
    }

    // MARK: Bookkeeping

    /// Adds a membership (the default one when `asDefault`, demoting the current default) and keeps the user's
    /// `organization_id` on the default organization.
    @discardableResult
    mutating func addMembership(user userID: Int, organization organizationID: Int, asDefault: Bool)
        -> OrganizationMembership
    {
        if asDefault {
            for (id, membership) in memberships where membership.userID == userID && membership.isDefault {
                memberships[id]?.isDefault = false
                memberships[id]?.updatedAt = now
            }
        }
        let membership = OrganizationMembership(
            id: makeID(), userID: userID, organizationID: organizationID, isDefault: asDefault, createdAt: now,
            updatedAt: now)
        memberships[membership.id] = membership
        let defaultOrganization = memberships(ofUser: userID).first(where: \.isDefault)?.organizationID
        users[userID]?.organizationID = defaultOrganization
        return membership
    }

    /// What writing `organization_id` on a user does: the default membership moves to `organizationID` (its other
    /// memberships stay); `nil` removes the default membership.
    mutating func setDefaultOrganization(user userID: Int, to organizationID: Int?) {
        let current = memberships(ofUser: userID)
        if let organizationID, current.first(where: \.isDefault)?.organizationID == organizationID { return }
        for membership in current where membership.isDefault || membership.organizationID == organizationID {
            memberships[membership.id] = nil
        }
        if let organizationID {
            addMembership(user: userID, organization: organizationID, asDefault: true)
        } else {
            promoteNextDefault(user: userID)
        }
    }

    /// Drops every membership of a deleted organization; users that lose their default get their next membership
    /// (by organization name) as the default.
    mutating func removeMemberships(ofOrganization organizationID: Int) {
        let affected = Set(memberships.values.filter { $0.organizationID == organizationID }.map(\.userID))
        for (id, membership) in memberships where membership.organizationID == organizationID { memberships[id] = nil }
        for userID in affected { promoteNextDefault(user: userID) }
    }

    private mutating func promoteNextDefault(user userID: Int) {
        let remaining = memberships(ofUser: userID)
        if !remaining.contains(where: \.isDefault), let next = remaining.first {
            memberships[next.id]?.isDefault = true
            memberships[next.id]?.updatedAt = now
        }
        let defaultOrganization = memberships(ofUser: userID).first(where: \.isDefault)?.organizationID
        users[userID]?.organizationID = defaultOrganization
    }
}

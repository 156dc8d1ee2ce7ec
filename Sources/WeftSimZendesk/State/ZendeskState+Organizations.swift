import Foundation
import WeftSimKit

extension ZendeskState {
    // MARK: Rendering

    func organizationJSON(_ org: Organization, baseURL: String) -> JSON {
        var fields = JSONObject()
        for field in organizationFields.sorted(by: { ($0.position, $0.id) < ($1.position, $1.id) }) where field.active {
            fields[field.key] = org.fields[field.key] ?? .null
        }
        return .object(
            JSONObject([
                ("url", .string("\(baseURL)/api/v2/organizations/\(org.id).json")),
                ("id", .int(org.id)),
                ("name", .string(org.name)),
                ("shared_tickets", .bool(org.sharedTickets)),
                ("shared_comments", .bool(org.sharedComments)),
                ("external_id", .from(org.externalID)),
                ("created_at", .string(Timestamps.iso8601(org.createdAt))),
                ("updated_at", .string(Timestamps.iso8601(org.updatedAt))),
                ("domain_names", .strings(org.domainNames)),
                ("details", .from(org.details)),
                ("notes", .from(org.notes)),
                ("group_id", .from(org.groupID)),
                ("tags", .strings(org.tags)),
                ("organization_fields", .object(fields)),
            ]))
    }

    private func answer(_ org: Organization, status: Int, baseURL: String) -> APIAnswer {
        APIAnswer(status: status, body: ["organization": organizationJSON(org, baseURL: baseURL)])
    }

    // MARK: Reads

    func listOrganizations(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let items = organizations.keys.sorted().map { ($0, organizationJSON(organizations[$0]!, baseURL: request.baseURL)) }
        return try page(items, key: "organizations", request: request)
    }

    func showOrganization(_ id: Int, _ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        guard let org = organizations[id] else { throw .notFound }
        return answer(org, status: 200, baseURL: request.baseURL)
    }

    /// `GET /organizations/search?external_id=` or `?name=`: exact, case-insensitive matches.
    func searchOrganizations(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let externalID = request.query["external_id"]
        let name = request.query["name"]
        guard (externalID == nil) != (name == nil) else {
            throw .badRequest("InvalidValue", "Provide either external_id or name")
        }
        let matches = organizations.keys.sorted().compactMap { organizations[$0] }.filter { org in
            if let externalID { return Self.same(org.externalID, externalID) }
            return Self.same(org.name, name)
        }
        return Self.searchAnswer(matches.map { organizationJSON($0, baseURL: request.baseURL) }, key: "organizations")
    }

    // MARK: Writes

    mutating func createOrganization(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let input = try root(request, "organization")
        let org = try insertOrganization(input)
        return answer(org, status: 201, baseURL: request.baseURL)
    }

    /// Matches by `id`, else by `external_id`; 201 when created, 200 when updated.
    mutating func createOrUpdateOrganization(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let input = try root(request, "organization")
        let existing: Int? =
            if let id = input["id"]?.int, organizations[id] != nil {
                id
            } else if let externalID = Self.text(input["external_id"]) {
                organizations.values.first(where: { Self.same($0.externalID, externalID) })?.id
            } else {
                nil
            }
        if let existing {
            let org = try changeOrganization(existing, input)
            return answer(org, status: 200, baseURL: request.baseURL)
        }
        let org = try insertOrganization(input)
        return answer(org, status: 201, baseURL: request.baseURL)
    }

    mutating func updateOrganization(_ id: Int, _ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        guard organizations[id] != nil else { throw .notFound }
        let org = try changeOrganization(id, try root(request, "organization"))
        return answer(org, status: 200, baseURL: request.baseURL)
    }

    mutating func deleteOrganization(_ id: Int) throws(ZendeskError) -> APIAnswer {
        guard let org = organizations.removeValue(forKey: id) else { throw .notFound }
        removeMemberships(ofOrganization: id)
        events.append(
            PendingEvent(
                type: "zen:event-type:organization.deleted", subject: "zen:organization:\(id)",
                detail: organizationDetail(org), event: [:]))
        return APIAnswer(status: 204, body: .null)
    }

    private mutating func insertOrganization(_ input: JSONObject) throws(ZendeskError) -> Organization {
        guard let name = Self.text(input["name"])?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
            throw .recordInvalid(field: "name", description: "Name: cannot be blank", error: "BlankValue")
        }
        var org = Organization(id: 0, name: name, createdAt: now, updatedAt: now)
        try apply(input, to: &org, excluding: nil)
        org.id = makeID()
        organizations[org.id] = org
        events.append(
            PendingEvent(
                type: "zen:event-type:organization.created", subject: "zen:organization:\(org.id)",
                detail: organizationDetail(org), event: [:]))
        return org
    }

    private mutating func changeOrganization(_ id: Int, _ input: JSONObject) throws(ZendeskError) -> Organization {
        let before = organizations[id]!
        var org = before
        try apply(input, to: &org, excluding: id)
        org.updatedAt = now
        organizations[id] = org
        let subject = "zen:organization:\(id)"
        if org.name != before.name {
            events.append(
                PendingEvent(
                    type: "zen:event-type:organization.name_changed", subject: subject, detail: organizationDetail(org),
                    event: ["current": .string(org.name), "previous": .string(before.name)]))
        }
        if org.externalID != before.externalID {
            events.append(
                PendingEvent(
                    type: "zen:event-type:organization.external_id_changed", subject: subject,
                    detail: organizationDetail(org),
                    event: ["current": .from(org.externalID), "previous": .from(before.externalID)]))
        }
        for field in organizationFields where (org.fields[field.key] ?? .null) != (before.fields[field.key] ?? .null) {
            events.append(
                PendingEvent(
                    type: "zen:event-type:organization.custom_field_changed", subject: subject,
                    detail: organizationDetail(org),
                    event: [
                        "current": org.fields[field.key] ?? .null, "previous": before.fields[field.key] ?? .null,
                        "custom_field": ["id": .string(String(field.id)), "key": .string(field.key), "type": .string(field.type)],
                    ]))
        }
        return org
    }

    /// Writes the members given in `input` onto `org`, enforcing the unique name and external id (`excluding` is the
    /// organization being updated).
    private func apply(_ input: JSONObject, to org: inout Organization, excluding: Int?) throws(ZendeskError) {
        if let value = input["name"] {
            guard let name = Self.text(value)?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
                throw .recordInvalid(field: "name", description: "Name: cannot be blank", error: "BlankValue")
            }
            org.name = name
        }
        if organizations.values.contains(where: { $0.id != excluding && Self.same($0.name, org.name) }) {
            throw .recordInvalid(
                field: "name", description: "Name: \(org.name) has already been taken", error: "DuplicateValue")
        }
        if let value = input["external_id"] {
            let externalID = Self.text(value).flatMap { $0.isEmpty ? nil : $0 }
            if let externalID,
                organizations.values.contains(where: { $0.id != excluding && Self.same($0.externalID, externalID) })
            {
                throw .recordInvalid(
                    field: "external_id", description: "External ID: \(externalID) has already been taken",
                    error: "DuplicateValue")
            }
            org.externalID = externalID
        }
        if let value = input["domain_names"] { org.domainNames = Self.list(value).map { $0.lowercased() } }
        if let value = input["details"] { org.details = Self.text(value) }
        if let value = input["notes"] { org.notes = Self.text(value) }
        if let value = input["group_id"] { org.groupID = value.int }
        if let value = input["shared_tickets"]?.bool { org.sharedTickets = value }
        if let value = input["shared_comments"]?.bool { org.sharedComments = value }
        if let value = input["tags"] { org.tags = Self.list(value).map { $0.lowercased() } }
        if let values = input["organization_fields"]?.object {
            for (key, value) in values {
                // Keys that name no defined field are dropped without an error, as Zendesk does.
                guard let field = organizationFields.first(where: { $0.key == key && $0.active }) else { continue }
                if let stored = try Self.coerce(value, for: field) {
                    org.fields[key] = stored
                }
            }
        }
    }

    /// The value stored for `value` in `field`, `nil` to keep the old one (an unknown dropdown option), or a 422.
    static func coerce(_ value: JSON, for field: OrganizationField) throws(ZendeskError) -> JSON? {
        if value.isNull { return .null }
        let invalid = ZendeskError.recordInvalid(
            field: "base", description: "\(field.title): is invalid", error: "InvalidValue",
            extra: [("field_key", .int(field.id))])
        switch field.type {
        case "date":
            guard let text = text(value), let seconds = Timestamps.day(String(text.prefix(10))) else { throw invalid }
            return .string(String(Timestamps.iso8601(seconds).prefix(10)) + "T00:00:00+00:00")
        case "integer":
            guard let number = value.int ?? text(value).flatMap({ Int($0) }) else { throw invalid }
            return .int(number)
        case "decimal":
            if case .double = value { return value }
            if let number = value.int { return .double(Double(number)) }
            guard let number = text(value).flatMap({ Double($0) }) else { throw invalid }
            return .double(number)
        case "checkbox":
            guard let flag = value.bool else { throw invalid }
            return .bool(flag)
        case "dropdown":
            guard let text = text(value), field.options.contains(where: { $0.value == text }) else { return nil }
            return .string(text)
        case "regexp", "text", "textarea":
            guard let text = text(value) else { throw invalid }
            return .string(text)
        default:
            return value
        }
    }

    func organizationDetail(_ org: Organization) -> JSON {
        .object(
            JSONObject([
                ("created_at", .string(Timestamps.iso8601(org.createdAt))),
                ("external_id", .from(org.externalID)),
                ("group_id", .from(org.groupID.map(String.init))),
                ("id", .string(String(org.id))),
                ("name", .string(org.name)),
                ("shared_comments", .bool(org.sharedComments)),
                ("shared_tickets", .bool(org.sharedTickets)),
                ("updated_at", .string(Timestamps.iso8601(org.updatedAt))),
            ]))
    }

    // MARK: Organization fields

    func organizationFieldJSON(_ field: OrganizationField, baseURL: String) -> JSON {
        var object = JSONObject([
            ("url", .string("\(baseURL)/api/v2/organization_fields/\(field.id).json")),
            ("id", .int(field.id)),
            ("type", .string(field.type)),
            ("key", .string(field.key)),
            ("title", .string(field.title)),
            ("description", .string(field.description)),
            ("raw_title", .string(field.title)),
            ("raw_description", .string(field.description)),
            ("position", .int(field.position)),
            ("active", .bool(field.active)),
            ("system", false),
            ("regexp_for_validation", .null),
            ("created_at", .string(Timestamps.iso8601(field.createdAt))),
            ("updated_at", .string(Timestamps.iso8601(field.updatedAt))),
        ])
        if field.type == "dropdown" || field.type == "multiselect" {
            object["custom_field_options"] = .array(
                field.options.enumerated().map { index, option in
                    ["id": .int(field.id * 100 + index), "name": .string(option.name), "value": .string(option.value)]
                })
        }
        return .object(object)
    }

    func listOrganizationFields(_ request: APIRequest) -> APIAnswer {
        let items = organizationFields.sorted(by: { ($0.position, $0.id) < ($1.position, $1.id) })
            .map { organizationFieldJSON($0, baseURL: request.baseURL) }
        return Self.searchAnswer(items, key: "organization_fields")
    }

    static let fieldTypes: Set<String> = [
        "text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "dropdown", "multiselect", "lookup",
    ]

    mutating func createOrganizationField(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let input = try root(request, "organization_field")
        guard let key = Self.text(input["key"]), !key.isEmpty else {
            throw .recordInvalid(field: "key", description: "Key: cannot be blank", error: "BlankValue")
        }
        guard key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }), !key.allSatisfy(\.isNumber)
        else {
            throw .recordInvalid(field: "key", description: "Key: is invalid", error: "InvalidValue")
        }
        guard !organizationFields.contains(where: { $0.key == key }) else {
            throw .recordInvalid(field: "key", description: "Key: has already been taken", error: "DuplicateValue")
        }
        guard let type = Self.text(input["type"]), Self.fieldTypes.contains(type) else {
            throw .recordInvalid(field: "type", description: "Type: is invalid", error: "InvalidValue")
        }
        guard let title = Self.text(input["title"]), !title.isEmpty else {
            throw .recordInvalid(field: "title", description: "Title: cannot be blank", error: "BlankValue")
        }
        let options = (input["custom_field_options"]?.array ?? []).compactMap { option -> (name: String, value: String)? in
            guard let name = Self.text(option["name"]), let value = Self.text(option["value"]) else { return nil }
            return (name, value)
        }
        let field = OrganizationField(
            id: makeID(), key: key, type: type, title: title, description: Self.text(input["description"]) ?? "",
            position: input["position"]?.int ?? organizationFields.count, active: input["active"]?.bool ?? true,
            options: options, createdAt: now, updatedAt: now)
        organizationFields.append(field)
        return APIAnswer(status: 201, body: ["organization_field": organizationFieldJSON(field, baseURL: request.baseURL)])
    }
}

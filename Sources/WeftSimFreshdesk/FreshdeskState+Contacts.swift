import Foundation

extension FreshdeskState {
    static let contactKeys: Set<String> = [
        "name", "email", "phone", "mobile", "company_id", "job_title", "description", "custom_fields",
    ]

    func contactJSON(_ contact: FDContact) -> FDJSON {
        [
            "id": .int(Int64(contact.id)), "name": .string(contact.name),
            "email": contact.email.map(FDJSON.string) ?? .null, "phone": contact.phone.map(FDJSON.string) ?? .null,
            "mobile": contact.mobile.map(FDJSON.string) ?? .null,
            "company_id": contact.companyID.map { .int(Int64($0)) } ?? .null,
            "job_title": contact.jobTitle.map(FDJSON.string) ?? .null,
            "description": contact.description.map(FDJSON.string) ?? .null, "active": false, "address": .null,
            "language": "en", "time_zone": "Eastern Time (US & Canada)", "view_all_tickets": false,
            "other_emails": [], "tags": [],
            "custom_fields": Self.renderCustomFields(contact.customFields, fields: contactFields),
            "created_at": .string(FDTime.format(contact.createdAt)),
            "updated_at": .string(FDTime.format(contact.updatedAt)),
        ]
    }

    func contact(_ idText: String) throws(FreshdeskAPIError) -> FDContact {
        guard let id = Int(idText), let contact = contacts[id] else { throw .notFound }
        return contact
    }

    /// The company whose domains hold the domain of `email` (Freshdesk associates contacts by domain).
    func companyID(forEmail email: String) -> Int? {
        guard let at = email.lastIndex(of: "@") else { return nil }
        let domain = email[email.index(after: at)...].lowercased()
        return companies.values.sorted { $0.id < $1.id }.first { $0.domains.contains(domain) }?.id
    }

    /// `POST /api/v2/contacts`.
    mutating func createContact(_ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        let body = try request.jsonObject()
        var contact = FDContact(id: 0, name: "", customFields: [:], createdAt: now, updatedAt: now)
        try applyContact(body, to: &contact, creating: true)
        contact.id = makeContactID()
        contacts[contact.id] = contact
        return FreshdeskReply(status: 201, body: contactJSON(contact))
    }

    /// `PUT /api/v2/contacts/{id}`.
    mutating func updateContact(_ idText: String, _ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        var contact = try self.contact(idText)
        try applyContact(try request.jsonObject(), to: &contact, creating: false)
        contact.updatedAt = now
        contacts[contact.id] = contact
        return FreshdeskReply(body: contactJSON(contact))
    }

    private func applyContact(_ body: [String: FDJSON], to contact: inout FDContact, creating: Bool)
        throws(FreshdeskAPIError)
    {
        var errors: [FreshdeskAPIError.FieldError] = []
        for key in body.keys.sorted() where !Self.contactKeys.contains(key) {
            errors.append(FreshdeskAPIError.FieldError.invalidField(key))
        }
        var updated = contact
        if let value = body["name"] {
            if let text = value.string, !text.trimmingCharacters(in: .whitespaces).isEmpty {
                updated.name = text.trimmingCharacters(in: .whitespaces)
            } else {
                errors.append(.mismatch("name", expected: "String", given: value))
            }
        } else if creating {
            errors.append(.missingField("name", type: "String"))
        }
        func text(_ key: String) -> String?? {
            guard let value = body[key] else { return nil }
            if value.isNull { return .some(nil) }
            if let string = value.string { return .some(string) }
            errors.append(.mismatch(key, expected: "String", given: value))
            return nil
        }
        if let email = text("email") {
            if let email, !(email.contains("@") && email.contains(".")) {
                errors.append(.invalidValue("email", "It should be in the 'valid email address' format"))
            } else {
                updated.email = email?.lowercased()
            }
        }
        if let phone = text("phone") { updated.phone = phone }
        if let mobile = text("mobile") { updated.mobile = mobile }
        if let jobTitle = text("job_title") { updated.jobTitle = jobTitle }
        if let description = text("description") { updated.description = description }
        var explicitCompany = false
        if let value = body["company_id"] {
            explicitCompany = true
            if value.isNull {
                updated.companyID = nil
            } else if let id = value.int {
                if companies[Int(id)] == nil {
                    errors.append(.invalidValue("company_id", "There is no company matching the given company_id"))
                } else {
                    updated.companyID = Int(id)
                }
            } else {
                errors.append(.mismatch("company_id", expected: "Positive Integer", given: value))
            }
        }
        let custom = Self.validateCustomFields(body["custom_fields"], fields: contactFields, errors: &errors)
        if creating, updated.email == nil, updated.phone == nil, updated.mobile == nil {
            errors.append(
                .init(
                    field: "email", message: "Please fill at least 1 of email, mobile, phone, twitter_id, unique_external_id fields",
                    code: "missing_field"))
        }
        if !errors.isEmpty { throw .validation(errors) }
        if let email = updated.email, let clash = contacts.values.first(where: { $0.id != contact.id && $0.email == email }) {
            throw .validation(
                [
                    .init(
                        field: "email", message: "has already been taken", code: "duplicate_value",
                        additionalInfo: ["user_id": .int(Int64(clash.id))])
                ], status: 409)
        }
        if !explicitCompany, updated.companyID == nil, let email = updated.email {
            updated.companyID = companyID(forEmail: email)
        }
        for (key, value) in custom { updated.customFields[key] = value.isNull ? nil : value }
        contact = updated
    }

    /// `GET /api/v2/contacts` with `email`, `company_id`, `page`, `per_page`.
    func listContacts(_ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        let (page, perPage) = try Self.pagination(request)
        var list = contacts.values.sorted { ($0.name.lowercased(), $0.id) < ($1.name.lowercased(), $1.id) }
        if let email = request.queryValue("email")?.lowercased() { list = list.filter { $0.email == email } }
        if let company = request.queryValue("company_id").flatMap(Int.init) {
            list = list.filter { $0.companyID == company }
        }
        let (slice, headers) = Self.page(list, request: request, page: page, perPage: perPage)
        return FreshdeskReply(body: .array(slice.map(contactJSON)), headers: headers)
    }
}

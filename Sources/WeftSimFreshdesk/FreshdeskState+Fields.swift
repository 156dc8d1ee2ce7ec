extension FreshdeskState {
    /// Checks `custom_fields` against `fields`: unknown keys are `invalid_field`, values must fit the field type.
    /// Returns the values to store (`null` clears a field).
    static func validateCustomFields(
        _ value: FDJSON?, fields: [FreshdeskSimulator.CustomField], errors: inout [FreshdeskAPIError.FieldError]
    ) -> [String: FDJSON] {
        guard let value else { return [:] }
        guard let object = value.object else {
            errors.append(.mismatch("custom_fields", expected: "key/value pair", given: value))
            return [:]
        }
        var result: [String: FDJSON] = [:]
        for key in object.keys.sorted() {
            let given = object[key] ?? .null
            guard let field = fields.first(where: { $0.name == key }) else {
                errors.append(FreshdeskAPIError.FieldError.invalidField(key))
                continue
            }
            let label = "custom_fields.\(key)"
            if given.isNull {
                result[key] = .null
                continue
            }
            switch field.type {
            case .text, .paragraph, .phone:
                guard let text = given.string else {
                    errors.append(.mismatch(label, expected: "String", given: given))
                    continue
                }
                if field.type == .text, text.count > 255 {
                    errors.append(
                        .invalidValue(label, "Has \(text.count) characters, it can have maximum of 255 characters"))
                    continue
                }
                result[key] = given
            case .url:
                guard let text = given.string, text.hasPrefix("http://") || text.hasPrefix("https://") else {
                    errors.append(
                        .init(field: label, message: "It should be in the 'valid URL' format", code: "invalid_value"))
                    continue
                }
                result[key] = .string(text)
            case .number:
                guard given.int != nil else {
                    errors.append(.mismatch(label, expected: "Integer", given: given))
                    continue
                }
                result[key] = given
            case .checkbox:
                guard case .bool = given else {
                    errors.append(.mismatch(label, expected: "Boolean", given: given))
                    continue
                }
                result[key] = given
            case .date:
                guard let text = given.string, text.utf8.count == 10, FDTime.parse(text) != nil else {
                    errors.append(
                        .init(field: label, message: "It should be in the 'yyyy-mm-dd' format", code: "invalid_value"))
                    continue
                }
                result[key] = given
            case .dropdown:
                guard let text = given.string, field.choices.contains(text) else {
                    errors.append(
                        .invalidValue(label, "It should be one of these values: '\(field.choices.joined(separator: ","))'"))
                    continue
                }
                result[key] = given
            }
        }
        return result
    }

    /// Every defined custom field with its value or `null`, as responses show them.
    static func renderCustomFields(_ values: [String: FDJSON], fields: [FreshdeskSimulator.CustomField]) -> FDJSON {
        var members: [String: FDJSON] = [:]
        for field in fields { members[field.name] = values[field.name] ?? .null }
        return .object(members)
    }

    /// The default company fields Freshdesk lists before the custom ones.
    static let defaultCompanyFields: [(name: String, label: String, type: String)] = [
        ("name", "Company Name", "default_name"), ("description", "Description", "default_description"),
        ("note", "Notes", "default_note"), ("domains", "Domains for this company", "default_domains"),
        ("health_score", "Health score", "default_health_score"),
        ("account_tier", "Account tier", "default_account_tier"),
        ("renewal_date", "Renewal date", "default_renewal_date"), ("industry", "Industry", "default_industry"),
    ]

    /// `GET /api/v2/company_fields`.
    func companyFieldsJSON() -> FDJSON {
        var list: [FDJSON] = []
        for (index, field) in Self.defaultCompanyFields.enumerated() {
            list.append(
                fieldJSON(
                    id: index + 1, name: field.name, label: field.label, type: field.type, position: index + 1,
                    isDefault: true, required: field.name == "name", choices: [], createdAt: 0))
        }
        for (index, field) in companyFields.enumerated() {
            list.append(
                fieldJSON(
                    id: 50 + index, name: field.name, label: field.label, type: field.type.rawValue,
                    position: Self.defaultCompanyFields.count + index + 1, isDefault: false, required: false,
                    choices: field.choices, createdAt: fieldCreatedAt["company:\(field.name)"] ?? 0))
        }
        return .array(list)
    }

    /// `GET /api/v2/contact_fields` (custom fields only after the basic defaults).
    func contactFieldsJSON() -> FDJSON {
        let defaults: [(String, String, String)] = [
            ("name", "Full name", "default_name"), ("job_title", "Title", "default_job_title"),
            ("email", "Email", "default_email"), ("phone", "Work phone", "default_phone"),
            ("mobile", "Mobile phone", "default_mobile"), ("company_name", "Company", "default_company_name"),
            ("description", "About", "default_description"),
        ]
        var list: [FDJSON] = []
        for (index, field) in defaults.enumerated() {
            list.append(
                fieldJSON(
                    id: index + 1, name: field.0, label: field.1, type: field.2, position: index + 1, isDefault: true,
                    required: field.0 == "name", choices: [], createdAt: 0))
        }
        for (index, field) in contactFields.enumerated() {
            list.append(
                fieldJSON(
                    id: 70 + index, name: field.name, label: field.label, type: field.type.rawValue,
                    position: defaults.count + index + 1, isDefault: false, required: false, choices: field.choices,
                    createdAt: fieldCreatedAt["contact:\(field.name)"] ?? 0))
        }
        return .array(list)
    }

    private func fieldJSON(
        id: Int, name: String, label: String, type: String, position: Int, isDefault: Bool, required: Bool,
        choices: [String], createdAt: Int
    ) -> FDJSON {
        var members: [String: FDJSON] = [
            "id": .int(Int64(id)), "name": .string(name), "label": .string(label), "type": .string(type),
            "position": .int(Int64(position)), "default": .bool(isDefault), "required_for_agents": .bool(required),
            "agents_can_edit": true, "displayed_for_agents": true, "quick_add_for_agent": false, "unique": false,
            "created_at": .string(FDTime.format(createdAt)), "updated_at": .string(FDTime.format(createdAt)),
        ]
        if !choices.isEmpty {
            members["choices"] = .array(
                choices.enumerated().map { index, value in
                    ["label": .string(value), "value": .string(value), "position": .int(Int64(index + 1))]
                })
        }
        return .object(members)
    }

    /// `POST /api/v2/company_fields` (and the contact variant): `label` and `type` required; the name is derived.
    mutating func createField(_ request: FreshdeskRequest, forCompanies: Bool) throws(FreshdeskAPIError) -> FreshdeskReply {
        let body = try request.jsonObject()
        var errors: [FreshdeskAPIError.FieldError] = []
        for key in body.keys.sorted() where !["label", "type", "choices", "position", "required_for_agents"].contains(key) {
            errors.append(FreshdeskAPIError.FieldError.invalidField(key))
        }
        let label = body["label"]?.string ?? ""
        if label.isEmpty { errors.append(.missingField("label", type: "String")) }
        let typeName = body["type"]?.string ?? ""
        let type = FreshdeskSimulator.CustomField.FieldType(rawValue: typeName)
        if type == nil {
            errors.append(
                .invalidValue(
                    "type",
                    "It should be one of these values: '\(FreshdeskSimulator.CustomField.FieldType.allCases.map(\.rawValue).joined(separator: ","))'"
                ))
        }
        let choices = (body["choices"]?.array ?? []).compactMap { $0["value"]?.string ?? $0.string }
        var field = FreshdeskSimulator.CustomField(label: label, type: type ?? .text, choices: choices)
        let existing = forCompanies ? companyFields : contactFields
        if errors.isEmpty, existing.contains(where: { $0.name == field.name || $0.label == label }) {
            throw .validation(
                [.init(field: "label", message: "It should be a unique value", code: "duplicate_value")], status: 409)
        }
        if !errors.isEmpty { throw .validation(errors) }
        if field.name.isEmpty { field.name = "field_\(nextFieldID)" }
        nextFieldID += 1
        fieldCreatedAt["\(forCompanies ? "company" : "contact"):\(field.name)"] = now
        if forCompanies { companyFields.append(field) } else { contactFields.append(field) }
        let listed = forCompanies ? companyFieldsJSON() : contactFieldsJSON()
        let created = listed.array?.first(where: { $0["name"]?.string == field.name }) ?? .null
        return FreshdeskReply(status: 201, body: created)
    }
}

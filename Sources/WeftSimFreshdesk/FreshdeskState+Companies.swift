import Foundation

extension FreshdeskState {
    static let companyKeys: Set<String> = [
        "name", "description", "note", "domains", "health_score", "account_tier", "industry", "renewal_date",
        "custom_fields",
    ]

    func companyJSON(_ company: FDCompany) -> FDJSON {
        [
            "id": .int(Int64(company.id)), "name": .string(company.name),
            "description": company.description.map(FDJSON.string) ?? .null,
            "note": company.note.map(FDJSON.string) ?? .null, "domains": .array(company.domains.map(FDJSON.string)),
            "health_score": company.healthScore.map(FDJSON.string) ?? .null,
            "account_tier": company.accountTier.map(FDJSON.string) ?? .null,
            "industry": company.industry.map(FDJSON.string) ?? .null,
            "renewal_date": company.renewalDate.map(FDJSON.string) ?? .null,
            "custom_fields": Self.renderCustomFields(company.customFields, fields: companyFields),
            "created_at": .string(FDTime.format(company.createdAt)),
            "updated_at": .string(FDTime.format(company.updatedAt)),
        ]
    }

    func company(_ idText: String) throws(FreshdeskAPIError) -> FDCompany {
        guard let id = Int(idText), let company = companies[id] else { throw .notFound }
        return company
    }

    /// `POST /api/v2/companies` → 201 with `Location`.
    mutating func createCompany(_ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        let body = try request.jsonObject()
        var company = FDCompany(
            id: 0, name: "", domains: [], customFields: [:], createdAt: now, updatedAt: now)
        try applyCompany(body, to: &company, creating: true)
        company.id = makeCompanyID()
        companies[company.id] = company
        index(company.id)
        return FreshdeskReply(
            status: 201, body: companyJSON(company),
            headers: [("Location", "http://\(request.host)/api/v2/companies/\(company.id)")])
    }

    /// `PUT /api/v2/companies/{id}`.
    mutating func updateCompany(_ idText: String, _ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        var company = try self.company(idText)
        let body = try request.jsonObject()
        try applyCompany(body, to: &company, creating: false)
        company.updatedAt = now
        companies[company.id] = company
        index(company.id)
        return FreshdeskReply(body: companyJSON(company))
    }

    /// `DELETE /api/v2/companies/{id}` → 204; the company's contacts and tickets lose it.
    mutating func deleteCompany(_ idText: String) throws(FreshdeskAPIError) -> FreshdeskReply {
        let company = try self.company(idText)
        companies[company.id] = nil
        index(company.id)
        for (id, contact) in contacts where contact.companyID == company.id { contacts[id]?.companyID = nil }
        for (id, ticket) in tickets where ticket.companyID == company.id { tickets[id]?.companyID = nil }
        return FreshdeskReply(status: 204, body: nil)
    }

    /// Validates `body` (Freshdesk's order: field checks, then name and domain uniqueness) and applies it.
    private func applyCompany(_ body: [String: FDJSON], to company: inout FDCompany, creating: Bool)
        throws(FreshdeskAPIError)
    {
        var errors: [FreshdeskAPIError.FieldError] = []
        for key in body.keys.sorted() where !Self.companyKeys.contains(key) {
            errors.append(FreshdeskAPIError.FieldError.invalidField(key))
        }
        var name = company.name
        if let value = body["name"] {
            if let text = value.string {
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty {
                    errors.append(.invalidValue("name", "It should not be blank as this is a mandatory field"))
                } else if trimmed.count > 255 {
                    errors.append(
                        .invalidValue("name", "Has \(trimmed.count) characters, it can have maximum of 255 characters"))
                } else {
                    name = trimmed
                }
            } else {
                errors.append(.mismatch("name", expected: "String", given: value))
            }
        } else if creating {
            errors.append(.missingField("name", type: "String"))
        }
        var texts: [String: String?] = [:]
        for key in ["description", "note", "health_score", "account_tier", "industry", "renewal_date"] {
            guard let value = body[key] else { continue }
            if value.isNull {
                texts[key] = .some(nil)
            } else if let text = value.string {
                texts[key] = text
            } else {
                errors.append(.mismatch(key, expected: "String", given: value))
            }
        }
        var domains = company.domains
        if let value = body["domains"] {
            if let list = value.array {
                var cleaned: [String] = []
                for item in list {
                    guard let text = item.string else {
                        errors.append(
                            .init(
                                field: "domains", message: "It should contain elements of type String only",
                                code: "datatype_mismatch"))
                        break
                    }
                    let domain = text.trimmingCharacters(in: .whitespaces).lowercased()
                    if domain.isEmpty { continue }
                    if domain.contains(",") {
                        errors.append(
                            .invalidValue("domains", "',' characters are not allowed"))
                        break
                    }
                    if domain.contains(" ") {
                        errors.append(.invalidValue("domains", "Enter valid domains"))
                        break
                    }
                    if !cleaned.contains(domain) { cleaned.append(domain) }
                }
                domains = cleaned
            } else if !value.isNull {
                errors.append(.mismatch("domains", expected: "Array", given: value))
            } else {
                domains = []
            }
        }
        let custom = Self.validateCustomFields(body["custom_fields"], fields: companyFields, errors: &errors)
        if !errors.isEmpty { throw .validation(errors) }
        if let clash = companies.values.first(where: {
            $0.id != company.id && $0.name.lowercased() == name.lowercased()
        }) {
            throw .validation(
                [
                    .init(
                        field: "name", message: "It should be a unique value", code: "duplicate_value",
                        additionalInfo: ["company_id": .int(Int64(clash.id))])
                ], status: 409)
        }
        for domain in domains where !company.domains.contains(domain) {
            if let owner = companies.values.sorted(by: { $0.id < $1.id }).first(where: {
                $0.id != company.id && $0.domains.contains(domain)
            }) {
                throw .validation(
                    [
                        .init(
                            field: "domains",
                            message: "\(domain) is already taken by the company with company id:\(owner.id)",
                            code: "duplicate_value")
                    ], status: 409)
            }
        }
        company.name = name
        company.domains = domains
        for (key, value) in texts {
            switch key {
            case "description": company.description = value
            case "note": company.note = value
            case "health_score": company.healthScore = value
            case "account_tier": company.accountTier = value
            case "industry": company.industry = value
            default: company.renewalDate = value
            }
        }
        for (key, value) in custom {
            company.customFields[key] = value.isNull ? nil : value
        }
    }

    /// `GET /api/v2/companies`: ordered by name, paged with a `Link` header.
    func listCompanies(_ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        let (page, perPage) = try Self.pagination(request)
        let sorted = companies.values.sorted { ($0.name.lowercased(), $0.id) < ($1.name.lowercased(), $1.id) }
        let (slice, headers) = Self.page(sorted, request: request, page: page, perPage: perPage)
        return FreshdeskReply(body: .array(slice.map(companyJSON)), headers: headers)
    }

    /// `GET /api/v2/companies/autocomplete?name=`: companies with a word of their name starting with `name`.
    func autocompleteCompanies(_ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        guard let term = request.queryValue("name")?.lowercased(), !term.isEmpty else {
            throw .validation([.missingField("name", type: "String")])
        }
        let matches = companies.values.sorted { $0.id < $1.id }.filter { company in
            let lower = company.name.lowercased()
            return lower.hasPrefix(term)
                || lower.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).contains { $0.hasPrefix(term) }
        }
        return FreshdeskReply(body: [
            "companies": .array(matches.map { ["id": .int(Int64($0.id)), "name": .string($0.name)] })
        ])
    }

    /// `GET /api/v2/search/companies?query="…"&page=`: 30 results a page, at most 10 pages.
    func searchCompanies(_ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        var errors: [FreshdeskAPIError.FieldError] = []
        for (key, _) in request.query where key != "query" && key != "page" {
            errors.append(FreshdeskAPIError.FieldError.invalidField(key))
        }
        var page = 1
        if let raw = request.queryValue("page") {
            if let value = Int(raw), (1...10).contains(value) {
                page = value
            } else {
                errors.append(
                    .invalidValue("page", "It should be a Positive Integer less than or equal to 10"))
            }
        }
        guard let raw = request.queryValue("query") else {
            throw .validation(errors + [.missingField("query", type: "String")])
        }
        if !errors.isEmpty { throw .validation(errors) }
        let expression: FreshdeskSearchQuery
        do {
            expression = try FreshdeskSearchQuery.parse(
                raw, fields: Self.searchableCompanyFields(companyFields))
        } catch {
            throw .validation([.invalidValue("query", error.message)])
        }
        let matches = searchableCompanies().filter { company in
            expression.matches { field in self.searchValues(of: company, field: field) }
        }
        let start = min(matches.count, (page - 1) * 30)
        let end = min(matches.count, start + 30)
        return FreshdeskReply(body: [
            "results": .array(matches[start..<end].map(companyJSON)), "total": .int(Int64(matches.count)),
        ])
    }

    /// The fields a company query may name, with how to compare them.
    static func searchableCompanyFields(_ custom: [FreshdeskSimulator.CustomField]) -> [String: FreshdeskSearchQuery.Kind] {
        var fields: [String: FreshdeskSearchQuery.Kind] = [
            "domain": .text, "created_at": .date, "updated_at": .date,
        ]
        for field in custom {
            switch field.type {
            case .number: fields[field.name] = .number
            case .checkbox: fields[field.name] = .boolean
            case .date: fields[field.name] = .date
            case .paragraph: continue
            default: fields[field.name] = .text
            }
        }
        return fields
    }

    /// The values of `field` on `company` for matching (several for `domain`).
    func searchValues(of company: FDCompany, field: String) -> [FDJSON] {
        switch field {
        case "domain": return company.domains.map(FDJSON.string)
        case "created_at": return [.string(String(FDTime.format(company.createdAt).prefix(10)))]
        case "updated_at": return [.string(String(FDTime.format(company.updatedAt).prefix(10)))]
        default: return [company.customFields[field] ?? .null]
        }
    }
}

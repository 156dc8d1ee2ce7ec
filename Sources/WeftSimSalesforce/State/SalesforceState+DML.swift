import WeftSimKit

/// What an upsert did.
enum UpsertOutcome: Sendable {
    case created(String)
    case updated(String)
    /// Several records carry the external id value.
    case ambiguous([String])
}

extension SalesforceState {
    // MARK: Create, update, delete, upsert

    /// Creates a record of `object` from a JSON body; returns the new id.
    mutating func insert(_ object: ObjectSchema, _ input: JSONObject) throws(SalesforceError) -> String {
        let values = try coerce(object, input, insert: true)
        var fields: [String: JSON] = [:]
        for field in object.fields { fields[field.name] = field.kind == .boolean ? .bool(false) : .null }
        if object.field("CurrencyIsoCode") != nil, let corporate = settings.currencies.first {
            fields["CurrencyIsoCode"] = .string(corporate)
        }
        for (name, value) in values { fields[name] = value }
        try syncAddressPicklists(object, &fields, changed: Set(values.map(\.0)), isNew: true)
        try applyRules(object, &fields, changed: Set(values.map(\.0)), existing: nil)
        try checkRequired(object, fields)
        try checkUnique(object, fields, excluding: nil)
        let id = store(object, fields: fields, isNew: true)
        if object.name == "OpportunityLineItem", let opportunityID = fields["OpportunityId"]?.string {
            linesByOpportunity[opportunityID, default: []].append(id)
        }
        afterWrite(object, id: id)
        return id
    }

    /// Updates the record `id` of `object` from a JSON body.
    mutating func update(_ object: ObjectSchema, id: String, _ input: JSONObject) throws(SalesforceError) {
        let record = try live(id, of: object)
        if locked.contains(record.id) {
            throw SalesforceError(
                400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records: \(record.id)",
                fields: [])
        }
        let values = try coerce(object, input, insert: false)
        var fields = record.fields
        for (name, value) in values { fields[name] = value }
        try syncAddressPicklists(object, &fields, changed: Set(values.map(\.0)), isNew: false)
        try applyRules(object, &fields, changed: Set(values.map(\.0)), existing: record)
        try checkRequired(object, fields)
        try checkUnique(object, fields, excluding: id)
        records[id]?.fields = fields
        bump(id)
        afterWrite(object, id: id)
    }

    /// Deletes (moves to the recycle bin) the record `id`, cascading to its dependent records as Salesforce does.
    mutating func delete(id: String, of expected: ObjectSchema? = nil) throws(SalesforceError) {
        guard let normalised = SalesforceID.normalise(id), let record = records[normalised],
            expected == nil || record.type == expected?.name
        else { throw .notFound }
        if record.isDeleted { throw .entityDeleted }
        markDeleted(normalised)
    }

    private mutating func markDeleted(_ id: String) {
        guard let record = records[id], !record.isDeleted else { return }
        records[id]?.fields["IsDeleted"] = true
        bump(id)
        switch record.type {
        case "Account":
            for child in all("Contact") + all("Opportunity") where child["AccountId"].string == id { markDeleted(child.id) }
        case "Opportunity":
            for line in linesByOpportunity[id] ?? [] { markDeleted(line) }
            for role in all("OpportunityContactRole") where role["OpportunityId"].string == id { markDeleted(role.id) }
        case "OpportunityLineItem":
            if let opportunityID = record["OpportunityId"].string { rollUp(opportunityID) }
        default: break
        }
    }

    /// Upserts on `fieldName` = `value`: updates the one match, creates when none (unless `updateOnly`), reports
    /// several matches.
    mutating func upsert(
        _ object: ObjectSchema, field fieldName: String, value: String, _ input: JSONObject, updateOnly: Bool
    ) throws(SalesforceError) -> UpsertOutcome {
        guard let field = object.field(fieldName), field.externalID || field.name == "Id" else {
            throw .externalIDField(fieldName)
        }
        let matches = find(object, field: field, value: value)
        if matches.count > 1 { return .ambiguous(matches.map(\.id)) }
        if let match = matches.first {
            var body = input
            body[field.name] = nil
            try update(object, id: match.id, body)
            return .updated(match.id)
        }
        if updateOnly || field.name == "Id" { throw .notFound }
        var body = input
        body[field.name] = .string(value)
        return .created(try insert(object, body))
    }

    /// The live records of `object` whose `field` equals `value` (text compares case-insensitively).
    func find(_ object: ObjectSchema, field: FieldDef, value: String) -> [Record] {
        if field.kind.isID {
            guard let id = SalesforceID.normalise(value), let record = records[id], record.type == object.name, !record.isDeleted
            else { return [] }
            return [record]
        }
        let wanted = value.lowercased()
        return all(object.name).filter { record in
            switch record[field.name] {
            case .string(let text): text.lowercased() == wanted
            case .double(let number): SOQLValue.format(number) == value
            case .int(let number): String(number) == value
            default: false
            }
        }
    }

    /// The live record `id` of `object`, or the REST error a client gets for it.
    func live(_ id: String, of object: ObjectSchema) throws(SalesforceError) -> Record {
        guard let normalised = SalesforceID.normalise(id), normalised.hasPrefix(object.keyPrefix) else {
            throw .externalIDField(id)
        }
        guard let record = records[normalised], record.type == object.name else { throw .notFound }
        if record.isDeleted { throw .entityDeleted }
        return record
    }

    // MARK: Validation

    /// Checks the body's fields (names, writability, types) and converts the values; keeps the body's order.
    private func coerce(_ object: ObjectSchema, _ input: JSONObject, insert: Bool) throws(SalesforceError) -> [(String, JSON)] {
        var values: [(String, JSON)] = []
        var readOnly: [String] = []
        for (key, value) in input {
            if key == "attributes" { continue }
            guard let field = object.field(key) else { throw .noSuchColumn(key, type: object.name) }
            if field.name == "Id" {
                if insert {
                    throw SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", fields: ["Id"])
                }
                continue
            }
            if insert ? !field.createable : !field.updateable {
                readOnly.append(field.name)
                continue
            }
            values.append((field.name, try convert(field, value)))
        }
        if !readOnly.isEmpty { throw .readOnly(readOnly) }
        return values
    }

    private func convert(_ field: FieldDef, _ value: JSON) throws(SalesforceError) -> JSON {
        if value == .null { return field.kind == .boolean ? .bool(false) : .null }
        func refuse() -> SalesforceError {
            let shown: String
            switch value {
            case .string(let text): shown = "VALUE_STRING value \(text)"
            case .bool(let flag): shown = "VALUE_\(flag ? "TRUE" : "FALSE") value \(flag)"
            case .int(let number): shown = "VALUE_NUMBER_INT value \(number)"
            case .double(let number): shown = "VALUE_NUMBER_FLOAT value \(number)"
            case .array: shown = "START_ARRAY value ["
            case .object: shown = "START_OBJECT value {"
            case .null: shown = "VALUE_NULL value null"
            }
            let type =
                switch field.kind {
                case .boolean: "boolean"
                case .int: "int"
                case .double, .currency, .percent: "double"
                case .date: "date"
                case .datetime: "datetime"
                default: "string"
                }
            return .jsonParser("Cannot deserialize instance of \(type) from \(shown) or request may be missing a required field")
        }
        switch field.kind {
        case .picklist where field.restrictedPicklist:
            guard let text = value.string else { throw refuse() }
            if text.isEmpty { return .null }
            guard let allowed = field.picklistValues.first(where: { $0.lowercased() == text.lowercased() }) else {
                throw SalesforceError(
                    400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "\(field.label): bad value for restricted picklist field: \(text)",
                    fields: [field.name])
            }
            return .string(allowed)
        case .string, .textarea, .picklist, .email, .phone, .url:
            let text: String
            switch value {
            case .string(let string): text = string
            case .int(let number): text = String(number)
            case .double(let number): text = SOQLValue.format(number)
            case .bool(let flag): text = flag ? "true" : "false"
            default: throw refuse()
            }
            if text.isEmpty { return .null }
            if let limit = field.maxLength, text.count > limit {
                throw SalesforceError(
                    400, "STRING_TOO_LONG", "\(field.label): data value too large: \(text) (max length=\(limit))", fields: [field.name])
            }
            if field.kind == .email, !Self.isEmailAddress(text) {
                throw SalesforceError(
                    400, "INVALID_EMAIL_ADDRESS", "\(field.label): invalid email address: \(text)", fields: [field.name])
            }
            return .string(text)
        case .boolean:
            switch value {
            case .bool: return value
            case .string(let text) where text.lowercased() == "true" || text.lowercased() == "false":
                return .bool(text.lowercased() == "true")
            default: throw refuse()
            }
        case .int:
            if let number = value.number, number == number.rounded() { return .int(Int(number)) }
            if let text = value.string, let number = Int(text) { return .int(number) }
            throw refuse()
        case .double, .currency, .percent:
            if let number = value.number { return .double(number) }
            if let text = value.string, let number = Double(text) { return .double(number) }
            throw refuse()
        case .date:
            guard let text = value.string else { throw refuse() }
            if let ms = SalesforceTime.parseDate(text) ?? SalesforceTime.parseDateTime(text) {
                return .string(SalesforceTime.date(ms))
            }
            throw refuse()
        case .datetime:
            guard let text = value.string else { throw refuse() }
            if let ms = SalesforceTime.parseDateTime(text) ?? SalesforceTime.parseDate(text) {
                return .string(SalesforceTime.rest(ms))
            }
            throw refuse()
        case .id, .reference:
            guard let text = value.string else { throw refuse() }
            let message = "\(field.label): id value of incorrect type: \(text)"
            guard let id = SalesforceID.normalise(text) else {
                throw SalesforceError(400, "MALFORMED_ID", message, fields: [field.name])
            }
            if field.referenceTo == "User" {
                // As any lookup: an id of another object is refused, as is a user that does not exist or is inactive
                // (it used to be stored as null, which on an update erased the owner).
                guard id.hasPrefix("005") else { throw SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION", message, fields: [field.name]) }
                guard let user = readable(id) else {
                    throw SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields: [])
                }
                if user["IsActive"].bool == false {
                    throw SalesforceError(
                        400, "INACTIVE_OWNER_OR_USER", "operation performed with inactive user [\(id)] as owner of the record",
                        fields: [])
                }
                return .string(id)
            }
            guard let target = field.referenceTo.flatMap({ schema.object($0) }), id.hasPrefix(target.keyPrefix) else {
                throw SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION", message, fields: [field.name])
            }
            guard let record = records[id] else {
                throw SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields: [])
            }
            if record.isDeleted { throw SalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted", fields: []) }
            return .string(id)
        }
    }

    /// Whether `text` passes for an email address as Salesforce checks one: a local part, one `@`, and a domain with a
    /// dot, no blanks.
    static func isEmailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !text.contains(where: \.isWhitespace) else { return false }
        let domain = parts[1]
        return domain.contains(".") && !domain.hasPrefix(".") && !domain.hasSuffix(".")
    }

    private func checkRequired(_ object: ObjectSchema, _ fields: [String: JSON]) throws(SalesforceError) {
        let missing = object.fields.filter { $0.required && (fields[$0.name] ?? .null) == .null }.map(\.name)
        if !missing.isEmpty { throw .required(missing) }
    }

    private func checkUnique(_ object: ObjectSchema, _ fields: [String: JSON], excluding id: String?) throws(SalesforceError) {
        for field in object.fields where field.unique {
            guard let value = fields[field.name]?.string else { continue }
            if let other = find(object, field: field, value: value).first(where: { $0.id != id }) {
                throw SalesforceError(
                    400, "DUPLICATE_VALUE", "duplicate value found: \(field.name) duplicates value on record with id: \(other.id)",
                    fields: [])
            }
        }
    }

    // MARK: Object rules

    /// Derived fields and object-specific rules, on the record as it will be stored.
    private func applyRules(
        _ object: ObjectSchema, _ fields: inout [String: JSON], changed: Set<String>, existing: Record?
    ) throws(SalesforceError) {
        if changed.contains("CurrencyIsoCode") {
            if let code = fields["CurrencyIsoCode"]?.string {
                guard settings.currencies.contains(code) else {
                    throw SalesforceError(
                        400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Currency ISO Code: invalid currency code: \(code)",
                        fields: ["CurrencyIsoCode"])
                }
            } else {
                fields["CurrencyIsoCode"] = existing?["CurrencyIsoCode"] ?? settings.currencies.first.map(JSON.string) ?? .null
            }
        }
        switch object.name {
        case "Opportunity":
            if changed.contains("StageName"), let name = fields["StageName"]?.string {
                guard let stage = settings.stages.first(where: { $0.name.lowercased() == name.lowercased() }) else {
                    throw SalesforceError(
                        400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Stage: bad value for restricted picklist field: \(name)",
                        fields: ["StageName"])
                }
                fields["StageName"] = .string(stage.name)
                fields["IsClosed"] = .bool(stage.isClosed)
                fields["IsWon"] = .bool(stage.isWon)
                fields["ForecastCategory"] = .string(stage.forecastCategory == "Best Case" ? "BestCase" : stage.forecastCategory)
                fields["ForecastCategoryName"] = .string(stage.forecastCategory)
                if !changed.contains("Probability") { fields["Probability"] = .double(stage.probability) }
            }
            if changed.contains("Amount"), let existing, existing["HasOpportunityLineItem"].bool == true {
                // The amount of an opportunity with products is their total; a written value does not stick.
                fields["Amount"] = existing["Amount"]
            }
        case "Contact":
            let name = [fields["FirstName"]?.string, fields["LastName"]?.string].compactMap { $0 }.joined(separator: " ")
            fields["Name"] = name.isEmpty ? .null : .string(name)
        case "PricebookEntry":
            if existing == nil, let product = fields["Product2Id"]?.string.flatMap({ records[$0] }) {
                fields["Name"] = product["Name"]
                fields["ProductCode"] = product["ProductCode"]
            }
        case "OpportunityLineItem":
            try lineRules(&fields, changed: changed, existing: existing)
        default: break
        }
    }

    private func lineRules(_ fields: inout [String: JSON], changed: Set<String>, existing: Record?) throws(SalesforceError) {
        if existing == nil {
            guard let opportunity = fields["OpportunityId"]?.string.flatMap({ records[$0] }) else {
                throw .required(["OpportunityId"])
            }
            var productID = fields["Product2Id"]?.string
            if let entry = fields["PricebookEntryId"]?.string.flatMap({ records[$0] }) {
                if let productID, productID != entry["Product2Id"].string {
                    throw SalesforceError(
                        400, "FIELD_INTEGRITY_EXCEPTION", "field integrity exception: PricebookEntryId, Product2Id (mismatched)",
                        fields: ["PricebookEntryId", "Product2Id"])
                }
                productID = entry["Product2Id"].string
                fields["ListPrice"] = entry["UnitPrice"]
            } else if let productID {
                let pricebook = opportunity["Pricebook2Id"].string ?? standardPricebookID
                if let entry = all("PricebookEntry").first(where: {
                    $0["Product2Id"].string == productID && $0["Pricebook2Id"].string == pricebook
                }) {
                    fields["PricebookEntryId"] = .string(entry.id)
                    fields["ListPrice"] = entry["UnitPrice"]
                }
            } else {
                // Salesforce's wording (its help article notes that "versions 3.0 and higher" now means every version).
                throw SalesforceError(
                    400, "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: PricebookEntryId, unknown (versions 3.0 and higher must specify pricebook "
                        + "entry id; others must specify product id)", fields: ["PricebookEntryId", "unknown"])
            }
            fields["Product2Id"] = .from(productID)
            let product = productID.flatMap { records[$0] }
            fields["ProductCode"] = product?["ProductCode"] ?? .null
            let names = [opportunity["Name"].string, product?["Name"].string].compactMap { $0 }
            fields["Name"] = .string(names.joined(separator: " "))
            if fields["CurrencyIsoCode"] != nil { fields["CurrencyIsoCode"] = opportunity["CurrencyIsoCode"] }
        }
        let unitGiven = changed.contains("UnitPrice") && fields["UnitPrice"] != .null
        let totalGiven = changed.contains("TotalPrice") && fields["TotalPrice"] != .null
        if unitGiven, totalGiven {
            throw SalesforceError(
                400, "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: unknown (cannot specify both unit price and total price)", fields: ["TotalPrice"])
        }
        if existing == nil, !unitGiven, !totalGiven {
            guard fields["ListPrice"] != .null else { throw .required(["UnitPrice"]) }
            fields["UnitPrice"] = fields["ListPrice"]
        }
        let quantity = fields["Quantity"]?.number ?? 0
        if totalGiven, let total = fields["TotalPrice"]?.number {
            fields["UnitPrice"] = .double(quantity == 0 ? 0 : Self.money(total / quantity))
        } else if let unit = fields["UnitPrice"]?.number {
            fields["TotalPrice"] = .double(Self.money(unit * quantity))
        }
    }

    static func money(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    /// Changes that ripple to other records: opportunity amounts, product codes on lines.
    private mutating func afterWrite(_ object: ObjectSchema, id: String) {
        guard let record = records[id] else { return }
        switch object.name {
        case "OpportunityLineItem":
            if let opportunityID = record["OpportunityId"].string { rollUp(opportunityID) }
        case "OpportunityContactRole":
            // One primary contact per opportunity: marking one primary clears the flag on the others.
            guard record["IsPrimary"].bool == true, let opportunityID = record["OpportunityId"].string else { break }
            for other in all("OpportunityContactRole")
            where other.id != id && other["OpportunityId"].string == opportunityID && other["IsPrimary"].bool == true {
                records[other.id]?.fields["IsPrimary"] = false
                bump(other.id)
            }
        case "Product2":
            for type in ["OpportunityLineItem", "PricebookEntry"] {
                for other in all(type, includeDeleted: true) where other["Product2Id"].string == id {
                    records[other.id]?.fields["ProductCode"] = record["ProductCode"]
                }
            }
        default: break
        }
    }

    /// Sets an opportunity's `Amount` to the total of its live line items (when it has any).
    mutating func rollUp(_ opportunityID: String) {
        guard let opportunity = records[opportunityID], !opportunity.isDeleted else { return }
        let lines = (linesByOpportunity[opportunityID] ?? []).compactMap { records[$0] }.filter { !$0.isDeleted }
        var fields = opportunity.fields
        fields["HasOpportunityLineItem"] = .bool(!lines.isEmpty)
        if !lines.isEmpty {
            fields["Amount"] = .double(Self.money(lines.reduce(0) { $0 + ($1["TotalPrice"].number ?? 0) }))
        }
        guard fields != opportunity.fields else { return }
        records[opportunityID]?.fields = fields
        bump(opportunityID)
    }
}

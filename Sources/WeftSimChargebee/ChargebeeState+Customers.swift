extension ChargebeeState {
    static let customerFields = ["first_name", "last_name", "email", "phone", "company", "preferred_currency_code", "vat_number"]
    static let addressFields = [
        "first_name", "last_name", "email", "company", "phone", "line1", "line2", "line3", "city", "state_code", "state",
        "country", "zip",
    ]

    mutating func createCustomer(_ params: FormBody) throws(ChargebeeError) -> JSON {
        let id = params.string("id") ?? makeID()
        guard !customers.contains(id) else { throw .duplicate("id", id) }
        if let email = params.string("email"), !email.contains("@") { throw .paramInvalid("email", "invalid email format") }
        let autoCollection = params.string("auto_collection") ?? "on"
        guard ["on", "off"].contains(autoCollection) else { throw .paramInvalid("auto_collection", "invalid value") }
        let outcome = settings.defaultPaymentOutcome
        var customer: JSON = ["id": .string(id)]
        for field in Self.customerFields { customer[field] = .from(params.string(field)) }
        customer["auto_collection"] = .string(autoCollection)
        customer["net_term_days"] = .int(try params.int("net_term_days") ?? 0)
        customer["allow_direct_debit"] = false
        customer["created_at"] = .int(now)
        customer["taxability"] = "taxable"
        customer["pii_cleared"] = "active"
        customer["channel"] = "web"
        customer["deleted"] = false
        customer["object"] = "customer"
        customer["card_status"] = "valid"
        customer["primary_payment_source_id"] = .string(makeID("pm_"))
        customer["payment_method"] = [
            "object": "payment_method", "type": "card", "reference_id": .string(makeID("tok_")), "gateway": "chargebee",
            "gateway_account_id": "gw_weft_test", "status": "valid",
        ]
        customer["promotional_credits"] = 0
        customer["refundable_credits"] = 0
        customer["excess_payments"] = 0
        customer["unbilled_charges"] = 0
        customer["mrr"] = 0
        applyAddress(params, to: &customer)
        touch(&customer)
        customers[id] = customer
        paymentOutcomes[id] = outcome
        emit("customer_created", ["customer": customer])
        return ["customer": customer]
    }

    mutating func updateCustomer(_ id: String, _ params: FormBody, billingInfo: Bool) throws(ChargebeeError) -> JSON {
        var customer = try customer(id)
        if billingInfo {
            customer["vat_number"] = .from(params.string("vat_number") ?? customer["vat_number"].string)
            applyAddress(params, to: &customer)
        } else {
            if let email = params.string("email"), !email.contains("@") {
                throw .paramInvalid("email", "invalid email format")
            }
            for field in Self.customerFields where params.string(field) != nil {
                customer[field] = .from(params.string(field))
            }
            if let autoCollection = params.string("auto_collection") {
                guard ["on", "off"].contains(autoCollection) else { throw .paramInvalid("auto_collection", "invalid value") }
                customer["auto_collection"] = .string(autoCollection)
            }
        }
        touch(&customer)
        customers[id] = customer
        emit("customer_changed", ["customer": customer])
        return ["customer": customer]
    }

    private func applyAddress(_ params: FormBody, to customer: inout JSON) {
        let given = params.hash("billing_address")
        guard !given.isEmpty else { return }
        var address = customer["billing_address"].object.map(JSON.object) ?? JSON.object(JSONObject())
        for field in Self.addressFields where given[field] != nil { address[field] = .from(given[field]) }
        address["validation_status"] = "not_validated"
        address["object"] = "billing_address"
        customer["billing_address"] = address
    }

    func listCustomers(_ params: FormBody) throws(ChargebeeError) -> JSON {
        let created = try Self.timeFilter(params, "created_at")
        let updated = try Self.timeFilter(params, "updated_at")
        let email = params.string("email[is]")
        var rows = customers.all.filter { customer in
            customer["deleted"].bool != true && created(customer["created_at"].int ?? 0)
                && updated(customer["updated_at"].int ?? 0) && (email == nil || customer["email"].string == email)
        }
        rows = Self.sorted(rows, params, fields: ["created_at", "updated_at"])
        return try page(rows, key: "customer", params: params)
    }

    /// Lists are newest first unless `sort_by[asc]=<field>` asks otherwise.
    static func sorted(_ rows: [JSON], _ params: FormBody, fields: Set<String>, default: String = "created_at") -> [JSON] {
        if let field = params.string("sort_by[asc]"), fields.contains(field) {
            return rows.enumerated().sorted { ($0.element[field].int ?? 0, $0.offset) < ($1.element[field].int ?? 0, $1.offset) }
                .map(\.element)
        }
        let field = params.string("sort_by[desc]").flatMap { fields.contains($0) ? $0 : nil } ?? `default`
        return rows.enumerated().sorted { ($0.element[field].int ?? 0, $0.offset) > ($1.element[field].int ?? 0, $1.offset) }
            .map(\.element)
    }
}

extension StripeState {
    private static let customerFields: Set<String> = [
        "address", "balance", "description", "email", "invoice_prefix", "invoice_settings", "metadata", "name",
        "next_invoice_sequence", "payment_method", "phone", "preferred_locales", "shipping", "tax_exempt", "source",
        "test_clock", "tax", "tax_id_data", "cash_balance", "coupon", "promotion_code", "validate",
    ]

    mutating func createCustomer(_ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.customerFields)
        try Self.refuseNotImplemented(["coupon", "promotion_code"], in: params, on: "POST /v1/customers")
        let id = ids.make("cus")
        var customer: JSON = [
            "id": .string(id), "object": "customer", "address": nil, "balance": 0, "created": .int(now),
            "currency": nil, "default_source": nil, "delinquent": false, "description": nil, "discount": nil,
            "email": nil, "invoice_prefix": .string(ids.hex(8)),
            "invoice_settings": [
                "custom_fields": nil, "default_payment_method": nil, "footer": nil, "rendering_options": nil,
            ],
            "livemode": false, "metadata": [:], "name": nil, "next_invoice_sequence": 1, "phone": nil,
            "preferred_locales": [], "shipping": nil, "tax_exempt": "none", "test_clock": nil,
        ]
        try Self.applyCustomerParams(params, to: &customer)
        if let paymentMethod = try params.string("payment_method"), !paymentMethod.isEmpty {
            _ = try TestCards.outcome(for: paymentMethod, param: "payment_method")
            customer["invoice_settings"]["default_payment_method"] = .string(paymentMethod)
        }
        customers[id] = customer
        emit("customer.created", customer)
        return customer
    }

    mutating func updateCustomer(_ id: String, _ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.customerFields.subtracting(["payment_method", "test_clock"]).union(["default_source"]))
        try Self.refuseNotImplemented(["coupon", "promotion_code"], in: params, on: "POST /v1/customers/:id")
        _ = try require(\.customers, id, kind: "customer")
        return try update(\.customers, id, event: "customer.updated") { customer in
            try Self.applyCustomerParams(params, to: &customer)
        }
    }

    private static func applyCustomerParams(_ params: FormParams.Node, to customer: inout JSON) throws {
        try params.copyStrings(["description", "email", "name", "phone"], to: &customer)
        try params.applyMetadata(to: &customer)
        if let balance = try params.int("balance") { customer["balance"] = .int(balance) }
        if let prefix = try params.string("invoice_prefix"), !prefix.isEmpty {
            customer["invoice_prefix"] = .string(prefix)
        }
        if let sequence = try params.int("next_invoice_sequence") { customer["next_invoice_sequence"] = .int(sequence) }
        if let exempt = try params.enumValue("tax_exempt", ["none", "exempt", "reverse"]) {
            customer["tax_exempt"] = .string(exempt)
        }
        if let locales = try params.stringList("preferred_locales") {
            customer["preferred_locales"] = .array(locales.map(JSON.string))
        }
        if let address = params["address"] {
            customer["address"] = try Self.address(address, param: "address")
        }
        if let shipping = params["shipping"] {
            if shipping.string == "" {
                customer["shipping"] = nil
            } else {
                customer["shipping"] = [
                    "address": try Self.address(shipping["address"] ?? .value(""), param: "shipping[address]"),
                    "name": .from(try shipping.string("name", param: "shipping[name]")),
                    "phone": .from(try shipping.string("phone", param: "shipping[phone]")),
                ]
            }
        }
        if let settings = params["invoice_settings"] {
            if let method = try settings.string(
                "default_payment_method", param: "invoice_settings[default_payment_method]")
            {
                if !method.isEmpty { _ = try TestCards.outcome(for: method, param: "invoice_settings[default_payment_method]") }
                customer["invoice_settings"]["default_payment_method"] = method.isEmpty ? nil : .string(method)
            }
            if let footer = try settings.string("footer", param: "invoice_settings[footer]") {
                customer["invoice_settings"]["footer"] = footer.isEmpty ? nil : .string(footer)
            }
        }
    }

    static func address(_ node: FormParams.Node, param: String) throws -> JSON {
        if node.string == "" { return nil }
        guard node.members != nil else { throw StripeError.invalidHash(param) }
        var address: JSON = [:]
        for key in ["city", "country", "line1", "line2", "postal_code", "state"] {
            address[key] = .from(try node.string(key, param: "\(param)[\(key)]"))
        }
        return address
    }

    mutating func deleteCustomer(_ id: String) throws -> JSON {
        let customer = try require(\.customers, id, kind: "customer")
        for subscriptionID in subscriptions.order {
            guard let subscription = subscriptions[subscriptionID], subscription["customer"].string == id,
                !["canceled", "incomplete_expired"].contains(subscription["status"].string ?? "")
            else { continue }
            _ = try cancelSubscription(subscriptionID, FormParams.Node.hash([:], order: []))
        }
        customers.markDeleted(id)
        emit("customer.deleted", customer)
        return ["id": .string(id), "object": "customer", "deleted": true]
    }

    func retrieveCustomer(_ id: String) throws -> JSON {
        if customers.deleted.contains(id) { return ["id": .string(id), "object": "customer", "deleted": true] }
        return try require(\.customers, id, kind: "customer")
    }

    func listCustomers(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let email = try params.string("email")
        let items = customers.newestFirst.filter { customer in
            created(customer["created"].int ?? 0) && (email == nil || customer["email"].string == email)
        }
        return try list(items, url: "/v1/customers", params: params)
    }
}

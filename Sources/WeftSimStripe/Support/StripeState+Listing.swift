extension StripeState {
    /// The filters each list implements besides `limit`, `starting_after`, `ending_before` and `expand`. Any other
    /// parameter is refused: one Stripe does not know as Stripe refuses it ("Received unknown parameter"), so a
    /// misspelled filter is an error, not a list of everything; one Stripe takes but the simulator does not filter by
    /// (`listFiltersNotImplemented`) with a 400 that says so, rather than an unfiltered list. Lists under an object
    /// (`/v1/invoices/:id/lines`, …) take none.
    static let listFilters: [String: Set<String>] = [
        "/v1/customers": ["created", "email"],
        "/v1/products": ["active", "created"],
        "/v1/prices": ["active", "created", "lookup_keys", "product", "type"],
        "/v1/events": ["created", "delivery_success", "type", "types"],
        "/v1/payment_intents": ["created", "customer"],
        "/v1/charges": ["created", "customer", "payment_intent"],
        "/v1/refunds": ["charge", "created", "payment_intent"],
        "/v1/subscriptions": ["created", "customer", "price", "status"],
        "/v1/invoice_payments": ["invoice", "payment", "status"],
        "/v1/invoices": ["collection_method", "created", "customer", "status", "subscription"],
        "/v1/invoiceitems": ["created", "customer", "invoice", "pending"],
        "/v1/credit_notes": ["customer", "invoice"],
        "/v1/coupons": ["created"],
    ]

    /// Filters Stripe's lists take (the OpenAPI spec's query parameters and later versions') that the simulator does not
    /// implement.
    static let listFiltersNotImplemented: [String: Set<String>] = [
        "/v1/customers": ["test_clock"],
        "/v1/products": ["ids", "shippable", "url"],
        "/v1/prices": ["currency", "recurring"],
        "/v1/charges": ["transfer_group"],
        "/v1/subscriptions": [
            "automatic_tax", "collection_method", "current_period_end", "current_period_start", "customer_account", "plan",
            "test_clock",
        ],
        "/v1/invoice_payments": ["created"],
        "/v1/invoices": ["customer_account", "due_date"],
        "/v1/credit_notes": ["created", "customer_account"],
    ]

    /// Pages `items` (newest first) the way Stripe's list endpoints do.
    func list(_ items: [JSON], url: String, params: FormParams.Node) throws -> JSON {
        for key in Self.listFiltersNotImplemented[url] ?? [] where params.members?.contains(where: { $0.0 == key }) == true {
            throw StripeError.invalidRequest(
                "Weft's Stripe simulator does not filter \(url) by `\(key)` (Stripe does); leave it out.", param: key)
        }
        try params.rejectUnknown((Self.listFilters[url] ?? []).union(["limit", "starting_after", "ending_before"]))
        let limit = try params.int("limit") ?? 10
        guard (1...100).contains(limit) else {
            throw StripeError.invalidRequest(
                "Invalid limit: must be between 1 and 100", code: "parameter_invalid_integer", param: "limit")
        }
        var page: ArraySlice<JSON>
        var hasMore: Bool
        if let after = try params.string("starting_after"), !after.isEmpty,
            let before = try params.string("ending_before"), !before.isEmpty
        {
            // Each cursor is resolved first (an unknown one is a 404), then the pair is refused: no `code`, no `param`.
            for (cursor, param) in [(after, "starting_after"), (before, "ending_before")]
            where !items.contains(where: { $0["id"].string == cursor }) {
                throw StripeError.missing(Self.kindName(of: cursor), cursor, param: param)
            }
            throw StripeError.invalidRequest(
                "Received both starting_after and ending_before parameters. Please pass in only one.")
        }
        if let after = try params.string("starting_after"), !after.isEmpty {
            guard let index = items.firstIndex(where: { $0["id"].string == after }) else {
                throw StripeError.missing(Self.kindName(of: after), after, param: "starting_after")
            }
            let rest = items[(index + 1)...]
            page = rest.prefix(limit)
            hasMore = rest.count > limit
        } else if let before = try params.string("ending_before"), !before.isEmpty {
            guard let index = items.firstIndex(where: { $0["id"].string == before }) else {
                throw StripeError.missing(Self.kindName(of: before), before, param: "ending_before")
            }
            let newer = items[..<index]
            page = newer.suffix(limit)
            hasMore = newer.count > limit
        } else {
            page = items.prefix(limit)
            hasMore = items.count > limit
        }
        let expand = try params.stringList("expand") ?? []
        let data = try page.map { item in
            try expandPaths(item, expand.compactMap { $0.hasPrefix("data.") ? String($0.dropFirst(5)) : nil })
        }
        return ["object": "list", "data": .array(data), "has_more": .bool(hasMore), "url": .string(url)]
    }

    /// Filters on `created` (`created=1`, `created[gte]=…`, `gt`, `lt`, `lte`).
    func createdFilter(_ params: FormParams.Node) throws -> (Int) -> Bool {
        guard let node = params["created"] else { return { _ in true } }
        if node.string != nil {
            guard let exact = try params.int("created") else { return { _ in true } }
            return { $0 == exact }
        }
        let gt = try node.int("gt", param: "created[gt]")
        let gte = try node.int("gte", param: "created[gte]")
        let lt = try node.int("lt", param: "created[lt]")
        let lte = try node.int("lte", param: "created[lte]")
        return { created in
            if let gt, created <= gt { return false }
            if let gte, created < gte { return false }
            if let lt, created >= lt { return false }
            if let lte, created > lte { return false }
            return true
        }
    }

    /// Replaces id fields named by `paths` (`customer`, `latest_invoice.payments`) with the objects.
    func expandPaths(_ object: JSON, _ paths: [String]) throws -> JSON {
        var result = object
        for path in paths where !path.isEmpty {
            result = try expand(result, path.split(separator: ".").map(String.init)[...], fullPath: path)
        }
        return result
    }

    private func expand(_ object: JSON, _ path: ArraySlice<String>, fullPath: String) throws -> JSON {
        guard let key = path.first else { return object }
        var result = object
        let rest = path.dropFirst()
        let value = object[key]
        if key == "payments", object["object"].string == "invoice", let id = object["id"].string {
            let payments = invoicePayments[id] ?? []
            result[key] = [
                "object": "list", "data": .array(payments), "has_more": false,
                "url": .string("/v1/invoice_payments?invoice=\(id)"),
            ]
            return result
        }
        if key == "refunds", object["object"].string == "charge", let id = object["id"].string {
            let data = refunds(ofCharge: id)
            result[key] = [
                "object": "list", "data": .array(data), "has_more": false, "total_count": .int(data.count),
                "url": .string("/v1/charges/\(id)/refunds"),
            ]
            return result
        }
        if let id = value.string, let found = lookup(id) {
            result[key] = try expand(found, rest, fullPath: fullPath)
        } else if value.object?["object"] != nil {
            result[key] = try expand(value, rest, fullPath: fullPath)
        } else if value.isNull, object.object?[key] != nil {
            return result
        } else if key == "discounts", let elements = value.array {
            // An invoice's or subscription's discounts are ids, each expandable.
            result[key] = .array(
                try elements.map { element in
                    guard let id = element.string, let found = lookup(id) else { return element }
                    return try expand(found, rest, fullPath: fullPath)
                })
        } else if key == "data", let elements = value.array {
            result[key] = .array(try elements.map { try expand($0, rest, fullPath: fullPath) })
        } else {
            throw StripeError.invalidRequest("This property cannot be expanded (\(fullPath)).", param: "expand")
        }
        return result
    }

    /// A human name for an id's object kind, as Stripe's "No such …" messages use.
    static func kindName(of id: String) -> String {
        guard let underscore = id.firstIndex(of: "_") else { return "object" }
        switch id[..<underscore] {
        case "cus": return "customer"
        case "prod": return "product"
        case "price": return "price"
        case "sub": return "subscription"
        case "in": return "invoice"
        case "ii": return "invoiceitem"
        case "pi": return "payment_intent"
        case "ch": return "charge"
        case "re": return "refund"
        case "cn": return "credit note"
        case "di": return "discount"
        case "evt": return "event"
        case "we": return "webhook endpoint"
        default: return "object"
        }
    }
}

extension StripeState {
    private static let productFields: Set<String> = [
        "active", "default_price_data", "description", "id", "images", "marketing_features", "metadata", "name",
        "package_dimensions", "shippable", "statement_descriptor", "tax_code", "unit_label", "url", "type",
        "default_price",
    ]

    mutating func createProduct(_ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.productFields.subtracting(["default_price"]))
        let name = try params.requiredString("name")
        let id = try params.string("id").flatMap { $0.isEmpty ? nil : $0 } ?? ids.make("prod")
        if products[id] != nil {
            throw StripeError.invalidRequest(
                "Product already exists.", code: "resource_already_exists", param: "id")
        }
        var product: JSON = [
            "id": .string(id), "object": "product", "active": true, "created": .int(now), "default_price": nil,
            "description": nil, "images": [], "livemode": false, "marketing_features": [], "metadata": [:],
            "name": .string(name), "package_dimensions": nil, "shippable": nil, "statement_descriptor": nil,
            "tax_code": nil, "type": "service", "unit_label": nil, "updated": .int(now), "url": nil,
        ]
        try Self.applyProductParams(params, to: &product)
        products[id] = product
        emit("product.created", product)
        if let priceData = params["default_price_data"] {
            var priceParams = priceData
            if case .hash(var values, var order) = priceParams {
                values["product"] = .value(id)
                order.append("product")
                priceParams = .hash(values, order: order)
            }
            let price = try createPrice(priceParams, paramPrefix: "default_price_data")
            product = update(\.products, id, event: nil) { $0["default_price"] = price["id"] }
        }
        return product
    }

    mutating func updateProduct(_ id: String, _ params: FormParams.Node) throws -> JSON {
        let now = self.now
        try params.rejectUnknown(Self.productFields.subtracting(["id", "type", "default_price_data"]))
        _ = try require(\.products, id, kind: "product")
        if let price = try params.string("default_price"), !price.isEmpty {
            _ = try require(\.prices, price, kind: "price", param: "default_price")
        }
        return try update(\.products, id, event: "product.updated") { product in
            try Self.applyProductParams(params, to: &product)
            if let price = try params.string("default_price") { product["default_price"] = .from(price.isEmpty ? nil : price) }
            product["updated"] = .int(now)
        }
    }

    private static func applyProductParams(_ params: FormParams.Node, to product: inout JSON) throws {
        if let name = try params.string("name") {
            guard !name.isEmpty else { throw StripeError.invalidEmpty("name") }
            product["name"] = .string(name)
        }
        try params.copyStrings(["description", "statement_descriptor", "tax_code", "unit_label", "url"], to: &product)
        try params.applyMetadata(to: &product)
        if let active = try params.bool("active") { product["active"] = .bool(active) }
        if let shippable = try params.bool("shippable") { product["shippable"] = .bool(shippable) }
        if let type = try params.enumValue("type", ["good", "service"]) { product["type"] = .string(type) }
        if let images = try params.stringList("images") { product["images"] = .array(images.map(JSON.string)) }
    }

    mutating func deleteProduct(_ id: String) throws -> JSON {
        let product = try require(\.products, id, kind: "product")
        if prices.order.contains(where: { prices[$0]?["product"].string == id }) {
            throw StripeError.invalidRequest(
                "This product cannot be deleted because it has one or more user-created prices.",
                code: "product_has_prices")
        }
        products.markDeleted(id)
        emit("product.deleted", product)
        return ["id": .string(id), "object": "product", "deleted": true]
    }

    func listProducts(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let active = try params.bool("active")
        let items = products.newestFirst.filter {
            created($0["created"].int ?? 0) && (active == nil || $0["active"].bool == active)
        }
        return try list(items, url: "/v1/products", params: params)
    }

    private static let priceFields: Set<String> = [
        "currency", "active", "billing_scheme", "custom_unit_amount", "lookup_key", "metadata", "nickname",
        "product", "product_data", "recurring", "tax_behavior", "tiers", "tiers_mode", "transfer_lookup_key",
        "transform_quantity", "unit_amount", "unit_amount_decimal", "currency_options",
    ]

    mutating func createPrice(_ params: FormParams.Node, paramPrefix: String? = nil) throws -> JSON {
        func name(_ key: String) -> String { paramPrefix.map { "\($0)[\(key)]" } ?? key }
        if paramPrefix == nil { try params.rejectUnknown(Self.priceFields) }
        let currency = try params.requiredString("currency", param: name("currency")).lowercased()
        var productID: String
        if let product = try params.string("product", param: name("product")), !product.isEmpty {
            _ = try require(\.products, product, kind: "product", param: name("product"))
            productID = product
        } else if let productData = params["product_data"] {
            var productParams = productData
            if case .hash(let values, let order) = productData {
                productParams = .hash(
                    values.filter {
                        ["name", "metadata", "active", "unit_label", "id", "statement_descriptor", "tax_code"].contains($0.key)
                    }, order: order)
            }
            productID = try createProduct(productParams)["id"].string ?? ""
        } else {
            throw StripeError.missingParam(name("product"))
        }
        let amount: Int
        if let unitAmount = try params.int("unit_amount", param: name("unit_amount")) {
            amount = unitAmount
        } else if let decimal = try params.string("unit_amount_decimal", param: name("unit_amount_decimal")),
            let value = Int(decimal)
        {
            amount = value
        } else {
            throw StripeError.missingParam(name("unit_amount"))
        }
        guard amount >= 0 else {
            throw StripeError.invalidRequest(
                "This value must be greater than or equal to 0.", code: "parameter_invalid_integer",
                param: name("unit_amount"))
        }
        var recurring: JSON = nil
        if let recurringNode = params["recurring"] {
            let interval = try recurringNode.enumValue(
                "interval", ["day", "week", "month", "year"], param: name("recurring[interval]"))
            guard let interval else { throw StripeError.missingParam(name("recurring[interval]")) }
            let count = try recurringNode.int("interval_count", param: name("recurring[interval_count]")) ?? 1
            let usage =
                try recurringNode.enumValue("usage_type", ["licensed", "metered"], param: name("recurring[usage_type]"))
                ?? "licensed"
            recurring = [
                "interval": .string(interval), "interval_count": .int(count), "meter": nil,
                "trial_period_days": .from(try recurringNode.int("trial_period_days")),
                "usage_type": .string(usage),
            ]
        }
        let id = ids.make("price")
        var price: JSON = [
            "id": .string(id), "object": "price", "active": true, "billing_scheme": "per_unit",
            "created": .int(now), "currency": .string(currency), "custom_unit_amount": nil, "livemode": false,
            "lookup_key": nil, "metadata": [:], "nickname": nil, "product": .string(productID),
            "recurring": recurring, "tax_behavior": "unspecified", "tiers_mode": nil, "transform_quantity": nil,
            "type": recurring.isNull ? "one_time" : "recurring", "unit_amount": .int(amount),
            "unit_amount_decimal": .string(String(amount)),
        ]
        try Self.applyPriceParams(params, to: &price)
        if let behavior = try params.enumValue(
            "tax_behavior", ["exclusive", "inclusive", "unspecified"], param: name("tax_behavior"))
        {
            price["tax_behavior"] = .string(behavior)
        }
        prices[id] = price
        emit("price.created", price)
        return price
    }

    mutating func updatePrice(_ id: String, _ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown([
            "active", "lookup_key", "metadata", "nickname", "tax_behavior", "currency_options", "transfer_lookup_key",
        ])
        _ = try require(\.prices, id, kind: "price")
        return try update(\.prices, id, event: "price.updated") { price in
            try Self.applyPriceParams(params, to: &price)
        }
    }

    private static func applyPriceParams(_ params: FormParams.Node, to price: inout JSON) throws {
        try params.copyStrings(["lookup_key", "nickname"], to: &price)
        try params.applyMetadata(to: &price)
        if let active = try params.bool("active") { price["active"] = .bool(active) }
    }

    func listPrices(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let active = try params.bool("active")
        let product = try params.string("product")
        let type = try params.string("type")
        let lookupKeys = try params.stringList("lookup_keys")
        let items = prices.newestFirst.filter { price in
            created(price["created"].int ?? 0) && (active == nil || price["active"].bool == active)
                && (product == nil || price["product"].string == product)
                && (type == nil || price["type"].string == type)
                && (lookupKeys == nil || lookupKeys!.contains(price["lookup_key"].string ?? "\u{0}"))
        }
        return try list(items, url: "/v1/prices", params: params)
    }

    /// The price as the `plan` object Stripe still embeds in subscription items.
    static func plan(from price: JSON) -> JSON {
        let recurring = price["recurring"]
        return [
            "active": price["active"], "amount": price["unit_amount"], "amount_decimal": price["unit_amount_decimal"],
            "billing_scheme": price["billing_scheme"], "created": price["created"], "currency": price["currency"],
            "id": price["id"], "interval": recurring["interval"], "interval_count": recurring["interval_count"],
            "livemode": false, "metadata": price["metadata"], "meter": nil, "nickname": price["nickname"],
            "object": "plan", "product": price["product"], "tiers_mode": nil, "transform_usage": nil,
            "trial_period_days": recurring["trial_period_days"], "usage_type": recurring["usage_type"],
        ]
    }
}

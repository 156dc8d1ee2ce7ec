extension ChargebeeState {
    mutating func createItem(_ params: FormBody) throws(ChargebeeError) -> JSON {
        let id = try params.requiredString("id")
        guard !items.contains(id) else { throw .duplicate("id", id) }
        let type = try params.requiredString("type")
        guard ["plan", "addon", "charge"].contains(type) else { throw .paramInvalid("type", "invalid value") }
        let item = makeItem(id: id, name: try params.requiredString("name"), type: type, family: params.string("item_family_id"))
        emit("item_created", ["item": item])
        return ["item": item]
    }

    @discardableResult
    mutating func makeItem(id: String, name: String, type: String, family: String?) -> JSON {
        var item: JSON = [
            "id": .string(id), "name": .string(name), "external_name": .string(name), "status": "active",
            "resource_version": 0, "updated_at": 0, "item_family_id": .string(family ?? "weft-family"),
            "type": .string(type), "is_shippable": false, "is_giftable": false, "enabled_for_checkout": true,
            "enabled_in_portal": true, "item_applicability": "all", "metered": false, "channel": "web",
            "object": "item",
        ]
        touch(&item)
        items[id] = item
        return item
    }

    mutating func createItemPrice(_ params: FormBody) throws(ChargebeeError) -> JSON {
        let id = try params.requiredString("id")
        guard !itemPrices.contains(id) else { throw .duplicate("id", id) }
        let itemID = try params.requiredString("item_id")
        guard let item = items[itemID] else { throw .notFound(param: "item_id") }
        let pricingModel = params.string("pricing_model") ?? "flat_fee"
        guard ["flat_fee", "per_unit"].contains(pricingModel) else { throw .paramInvalid("pricing_model", "invalid value") }
        let periodUnit = params.string("period_unit")
        if let periodUnit, !["day", "week", "month", "year"].contains(periodUnit) {
            throw .paramInvalid("period_unit", "invalid value")
        }
        if item["type"].string == "plan", periodUnit == nil { throw .paramRequired("period_unit") }
        let price = try makeItemPrice(
            id: id, item: item, name: try params.requiredString("name"), pricingModel: pricingModel,
            price: try params.int("price") ?? 0, currency: params.string("currency_code") ?? "USD",
            period: try params.int("period") ?? 1, periodUnit: periodUnit)
        emit("item_price_created", ["item_price": price])
        return ["item_price": price]
    }

    mutating func makeItemPrice(
        id: String, item: JSON, name: String, pricingModel: String, price: Int, currency: String, period: Int,
        periodUnit: String?
    ) throws(ChargebeeError) -> JSON {
        guard price >= 0 else { throw .paramInvalid("price", "cannot be negative") }
        var itemPrice: JSON = [
            "id": .string(id), "name": .string(name), "item_family_id": item["item_family_id"],
            "item_id": item["id"], "status": "active", "external_name": .string(name),
            "pricing_model": .string(pricingModel), "price": .int(price),
        ]
        if let periodUnit {
            itemPrice["period"] = .int(period)
            itemPrice["period_unit"] = .string(periodUnit)
        }
        itemPrice["currency_code"] = .string(currency.uppercased())
        itemPrice["free_quantity"] = 0
        itemPrice["channel"] = "web"
        itemPrice["item_type"] = item["type"]
        itemPrice["is_taxable"] = true
        itemPrice["created_at"] = .int(now)
        itemPrice["deleted"] = false
        itemPrice["object"] = "item_price"
        touch(&itemPrice)
        itemPrices[id] = itemPrice
        return itemPrice
    }

    /// Seeds the configured catalog (no events: it existed before the simulator started).
    mutating func seed(_ catalog: [ChargebeeSimulator.ItemPriceSeed]) {
        for seed in catalog {
            let item =
                items[seed.itemID] ?? makeItem(id: seed.itemID, name: seed.itemID, type: seed.itemType, family: nil)
            _ = try? makeItemPrice(
                id: seed.id, item: item, name: seed.name, pricingModel: "per_unit", price: seed.price,
                currency: seed.currencyCode, period: seed.period,
                periodUnit: seed.itemType == "charge" ? nil : seed.periodUnit)
        }
    }
}

import Foundation

extension StripeState {
    // MARK: Coupons

    private static let couponFields: Set<String> = [
        "amount_off", "applies_to", "currency", "currency_options", "duration", "duration_in_months", "id",
        "max_redemptions", "metadata", "name", "percent_off", "redeem_by",
    ]

    /// `POST /v1/coupons`: exactly one of `percent_off` (more than 0, at most 100, decimals allowed) and `amount_off`
    /// (with its `currency`); `duration` `once` (the default), `repeating` (with `duration_in_months`) or `forever`.
    mutating func createCoupon(_ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.couponFields)
        for key in ["applies_to", "currency_options"] where params[key] != nil {
            throw Self.notImplemented(key, on: "POST /v1/coupons")
        }
        let percentText = try params.string("percent_off").flatMap { $0.isEmpty ? nil : $0 }
        let amountOff = try params.int("amount_off")
        var percentOff: Double?
        switch (percentText, amountOff) {
        case (nil, nil):
            throw StripeError.invalidRequest(
                "You must pass either percent_off or amount_off.", code: "parameter_missing", param: "percent_off")
        case (.some, .some):
            throw StripeError.invalidRequest(
                "You may only specify one of these parameters: amount_off, percent_off.", code: "parameters_exclusive",
                param: "amount_off")
        case (let text?, nil):
            guard let value = Double(text), value.isFinite, value > 0, value <= 100 else {
                throw StripeError.invalidRequest(
                    "Invalid percent_off: must be greater than 0 and less than or equal to 100.", param: "percent_off")
            }
            percentOff = value
        case (nil, let amount?):
            guard amount > 0 else { throw StripeError.invalidInteger("amount_off", String(amount)) }
        }
        let currency = try params.string("currency")?.lowercased()
        if amountOff != nil, currency?.isEmpty != false { throw StripeError.missingParam("currency") }
        let duration = try params.enumValue("duration", ["forever", "once", "repeating"]) ?? "once"
        let months = try params.int("duration_in_months")
        if duration == "repeating" {
            guard let months else { throw StripeError.missingParam("duration_in_months") }
            guard months > 0 else { throw StripeError.invalidInteger("duration_in_months", String(months)) }
        } else if months != nil {
            throw StripeError.invalidRequest(
                "duration_in_months can only be set when duration is repeating.", param: "duration_in_months")
        }
        let maxRedemptions = try params.int("max_redemptions")
        if let maxRedemptions, maxRedemptions <= 0 {
            throw StripeError.invalidInteger("max_redemptions", String(maxRedemptions))
        }
        let redeemBy = try params.int("redeem_by")
        if let redeemBy, redeemBy <= now {
            throw StripeError.invalidRequest("redeem_by must be in the future.", param: "redeem_by")
        }
        let id = try params.string("id").flatMap { $0.isEmpty ? nil : $0 } ?? ids.token(8).uppercased()
        guard coupons[id] == nil else {
            throw StripeError.invalidRequest(
                "Coupon already exists.", code: "resource_already_exists", param: "id")
        }
        var coupon: JSON = [
            "id": .string(id), "object": "coupon", "amount_off": .from(amountOff), "created": .int(now),
            "currency": amountOff == nil ? nil : .from(currency), "duration": .string(duration),
            "duration_in_months": .from(months), "livemode": false, "max_redemptions": .from(maxRedemptions),
            "metadata": [:], "name": nil, "percent_off": percentOff.map(JSON.double) ?? nil,
            "redeem_by": .from(redeemBy), "times_redeemed": 0, "valid": true,
        ]
        try params.copyStrings(["name"], to: &coupon)
        try params.applyMetadata(to: &coupon)
        coupons[id] = coupon
        emit("coupon.created", coupon)
        return coupon
    }

    func retrieveCoupon(_ id: String) throws -> JSON {
        withValidity(try require(\.coupons, id, kind: "coupon"))
    }

    func listCoupons(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let items = coupons.newestFirst.filter { created($0["created"].int ?? 0) }.map(withValidity)
        return try list(items, url: "/v1/coupons", params: params)
    }

    /// `POST /v1/coupons/:id`: only `name` and `metadata` change (a coupon's terms are fixed once created).
    mutating func updateCoupon(_ id: String, _ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(["currency_options", "metadata", "name"])
        if params["currency_options"] != nil { throw Self.notImplemented("currency_options", on: "POST /v1/coupons/:id") }
        _ = try require(\.coupons, id, kind: "coupon")
        return withValidity(
            try update(\.coupons, id, event: "coupon.updated") { coupon in
                try params.copyStrings(["name"], to: &coupon)
                try params.applyMetadata(to: &coupon)
            })
    }

    /// `DELETE /v1/coupons/:id`: the coupon can no longer be redeemed; discounts made from it stay.
    mutating func deleteCoupon(_ id: String) throws -> JSON {
        let coupon = try require(\.coupons, id, kind: "coupon")
        coupons.markDeleted(id)
        emit("coupon.deleted", withValidity(coupon))
        return ["id": .string(id), "object": "coupon", "deleted": true]
    }

    /// A coupon with `valid` as of now: false once `redeem_by` has passed or `max_redemptions` are used up.
    func withValidity(_ coupon: JSON) -> JSON {
        var coupon = coupon
        coupon["valid"] = .bool(Self.isRedeemable(coupon, now: now))
        return coupon
    }

    private static func isRedeemable(_ coupon: JSON, now: Int) -> Bool {
        if let redeemBy = coupon["redeem_by"].int, redeemBy <= now { return false }
        if let max = coupon["max_redemptions"].int, coupon["times_redeemed"].int ?? 0 >= max { return false }
        return true
    }

    // MARK: Discounts

    /// The coupons named by `discounts[N][coupon]`, each checked to be redeemable on something billed in `currency`;
    /// `nil` when `discounts` is not given, empty for `discounts=`. `discounts[N][discount]` and
    /// `discounts[N][promotion_code]` are refused as not implemented. Nothing changes.
    func requestedCoupons(_ params: FormParams.Node, currency: String, on endpoint: String) throws -> [JSON]? {
        guard let nodes = try params.hashList("discounts") else { return nil }
        var redemptions: [String: Int] = [:]
        return try nodes.enumerated().map { index, node in
            let param = "discounts[\(index)]"
            for key in ["discount", "promotion_code"] where node[key] != nil {
                throw Self.notImplemented("\(param)[\(key)]", on: endpoint)
            }
            for key in node.topLevelKeys where key != "coupon" { throw StripeError.unknownParam("\(param)[\(key)]") }
            let couponID = try node.requiredString("coupon", param: "\(param)[coupon]")
            // A coupon named in a request's parameters that does not exist is a 400 (a 404 is for the URL's object).
            guard var coupon = coupons[couponID] else {
                throw StripeError.invalidRequest(
                    "No such coupon: '\(couponID)'", code: "resource_missing", param: "\(param)[coupon]")
            }
            coupon["times_redeemed"] = .int((coupon["times_redeemed"].int ?? 0) + redemptions[couponID, default: 0])
            guard Self.isRedeemable(coupon, now: now) else {
                throw StripeError.invalidRequest(
                    "Coupon \(couponID) is no longer valid: it expired or was redeemed its max_redemptions times.",
                    code: "coupon_expired", param: "\(param)[coupon]")
            }
            if coupon["amount_off"].int != nil, let couponCurrency = coupon["currency"].string, couponCurrency != currency {
                throw StripeError.invalidRequest(
                    "Coupon \(couponID) takes an amount off in \(couponCurrency), so it cannot apply to an amount in "
                        + "\(currency).",
                    param: "\(param)[coupon]")
            }
            redemptions[couponID, default: 0] += 1
            return coupon
        }
    }

    /// Creates a discount (`di_…`) of `coupon` for an invoice or a subscription, redeeming the coupon once. It is shaped
    /// for the configured version: `source: {coupon, type}` now, the whole `coupon` before `2025-03-31.basil` (the
    /// 2023-08-16 fixtures' shape).
    mutating func makeDiscount(coupon: JSON, customerID: String, invoiceID: String?, subscriptionID: String?) -> String {
        let id = ids.make("di")
        let couponID = coupon["id"].string ?? ""
        let redeemed = update(\.coupons, couponID, event: nil) { coupon in
            coupon["times_redeemed"] = .int((coupon["times_redeemed"].int ?? 0) + 1)
        }
        var end: JSON = nil
        if coupon["duration"] == "repeating", let months = coupon["duration_in_months"].int {
            end = .int(BillingPeriod.advance(now, interval: "month", count: months))
        }
        var discount: JSON = ["id": .string(id), "object": "discount", "checkout_session": nil]
        if settings.usesPreBasilInvoiceShape { discount["coupon"] = withValidity(redeemed) }
        discount["customer"] = .string(customerID)
        discount["end"] = end
        discount["invoice"] = .from(invoiceID)
        discount["invoice_item"] = nil
        discount["promotion_code"] = nil
        discount["start"] = .int(now)
        discount["subscription"] = .from(subscriptionID)
        if !settings.usesPreBasilInvoiceShape {
            discount["subscription_item"] = nil
            discount["source"] = ["coupon": .string(couponID), "type": "coupon"]
            discount["customer_account"] = nil
        }
        discounts[id] = discount
        discountCoupons[id] = redeemed
        return id
    }

    /// The discounts of a subscription that apply to an invoice billed at `billedAt`, by their coupon's duration:
    /// `once` only to the first invoice that carries it, `repeating` until the discount's `end`, `forever` always.
    func subscriptionDiscounts(_ subscription: JSON, billedAt: Int) -> [String] {
        (subscription["discounts"].array ?? []).compactMap(\.string).filter { id in
            guard let coupon = discountCoupons[id] else { return false }
            switch coupon["duration"].string {
            case "once":
                return !invoices.newestFirst.contains { $0["discounts"].array?.contains(.string(id)) == true }
            case "repeating":
                return (discounts[id]?["end"].int ?? Int.max) > billedAt
            default:
                return true
            }
        }
    }

    /// The discounts of an invoice with their coupons, in the order they apply.
    func discountTerms(of invoice: JSON) -> [InvoiceDiscount] {
        (invoice["discounts"].array ?? []).compactMap(\.string).compactMap { id in
            discountCoupons[id].map { InvoiceDiscount(id: id, coupon: $0) }
        }
    }

    /// Writes each discountable line's `discount_amounts` (one entry per discount) and answers the invoice's
    /// `total_discount_amounts`. Discounts apply in order, each to what the ones before left: `percent_off` per line,
    /// rounded half up; `amount_off` at most what is left, shared in proportion to the lines' amounts with the rounding
    /// remainder on the last line. Prorations and lines that are not `discountable` (nor negative) take none.
    static func applyDiscounts(_ terms: [InvoiceDiscount], to lines: inout [JSON]) -> [JSON] {
        let eligible = lines.indices.filter { isDiscountable(lines[$0]) }
        var left = eligible.map { max(0, lines[$0]["amount"].int ?? 0) }
        var lineAmounts = [[JSON]](repeating: [], count: lines.count)
        var totals: [JSON] = []
        for term in terms {
            let amounts: [Int]
            if let amountOff = term.coupon["amount_off"].int {
                amounts = share(min(amountOff, left.reduce(0, +)), over: left)
            } else {
                let percent = term.coupon["percent_off"]
                amounts = left.map { percentOf($0, percent) }
            }
            for (position, index) in eligible.enumerated() {
                left[position] -= amounts[position]
                lineAmounts[index].append(["amount": .int(amounts[position]), "discount": .string(term.id)])
            }
            totals.append(["amount": .int(amounts.reduce(0, +)), "discount": .string(term.id)])
        }
        for index in lines.indices { lines[index]["discount_amounts"] = .array(lineAmounts[index]) }
        return totals
    }

    private static func isDiscountable(_ line: JSON) -> Bool {
        let parent = line["parent"]
        let proration =
            parent["subscription_item_details"]["proration"].bool ?? parent["invoice_item_details"]["proration"].bool
        return line["discountable"].bool == true && proration != true
    }

    /// `amount` shared by `weights`, each part rounded half up, the remainder on the last weighted part.
    private static func share(_ amount: Int, over weights: [Int]) -> [Int] {
        let sum = weights.reduce(0, +)
        guard sum > 0, amount > 0, let last = weights.lastIndex(where: { $0 > 0 }) else {
            return weights.map { _ in 0 }
        }
        var parts = weights.map { (2 * amount * $0 + sum) / (2 * sum) }
        parts[last] = amount - parts.indices.filter { $0 != last }.reduce(0) { $0 + parts[$1] }
        return parts
    }

    /// `percent` % of `amount` in the smallest unit, rounded half up (decimal arithmetic, no binary rounding).
    private static func percentOf(_ amount: Int, _ percent: JSON) -> Int {
        let text: String
        switch percent {
        case .double(let value): text = String(value)
        case .int(let value): text = String(value)
        default: return 0
        }
        guard let rate = Decimal(string: text) else { return 0 }
        var exact = Decimal(amount) * rate / 100
        var rounded = Decimal()
        NSDecimalRound(&rounded, &exact, 0, .plain)
        return NSDecimalNumber(decimal: rounded).intValue
    }

    // MARK: Not implemented

    /// A 400 for a parameter Stripe takes that the simulator does not implement, rather than ignoring it.
    static func notImplemented(_ param: String, on endpoint: String) -> StripeError {
        .invalidRequest(
            "Weft's Stripe simulator does not implement `\(param)` on \(endpoint) (Stripe does); leave it out.",
            param: param)
    }

    /// Refuses `keys` that are given with a value (an empty value, which unsets, is accepted).
    static func refuseNotImplemented(_ keys: [String], in params: FormParams.Node, on endpoint: String) throws {
        for key in keys where params[key] != nil && params[key]?.string != "" {
            throw notImplemented(key, on: endpoint)
        }
    }
}

/// A discount of an invoice and the coupon it was made from.
struct InvoiceDiscount: Sendable {
    var id: String
    var coupon: JSON
}

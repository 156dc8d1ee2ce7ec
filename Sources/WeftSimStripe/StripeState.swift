/// Everything the simulator holds, guarded by one mutex in `StripeSimulator`.
///
/// Each API call runs as one synchronous mutation of this value, so a call and the events it records are atomic.
struct StripeState: Sendable {
    struct Settings: Sendable {
        var apiVersion: String

        /// Whether events use the invoice shape of API versions before `2025-03-31.basil` (`paid`, `charge`,
        /// `payment_intent` on the invoice). Version names sort by date.
        var usesPreBasilInvoiceShape: Bool { apiVersion < "2025-03-31" }
        /// Whether a charge lists its refunds (`refunds`): only before `2022-11-15`, after which the list is
        /// expandable, not included ("The Charge object no longer auto-expands refunds", that version's changelog).
        var chargesListRefunds: Bool { apiVersion < "2022-11-15" }
        var accountCountry: String
        var defaultCurrency: String
        var defaultPaymentMethod: String
    }

    /// The request that is being served: events record it as `request.id` / `request.idempotency_key`.
    struct RequestInfo: Sendable {
        var id: String
        var idempotencyKey: String?
    }

    let settings: Settings
    var ids: IDGenerator
    /// Unix seconds of the call being served.
    var now = 0
    var request: RequestInfo?

    var customers = ObjectTable()
    var products = ObjectTable()
    var prices = ObjectTable()
    var subscriptions = ObjectTable()
    var invoices = ObjectTable()
    var invoiceItems = ObjectTable()
    var paymentIntents = ObjectTable()
    var charges = ObjectTable()
    var refunds = ObjectTable()
    var creditNotes = ObjectTable()
    var coupons = ObjectTable()
    var discounts = ObjectTable()
    /// The coupon each discount was made from, as it was then (a deleted coupon's discounts keep applying).
    var discountCoupons: [String: JSON] = [:]
    var events = ObjectTable()
    var webhookEndpoints = ObjectTable()
    /// `invoice_payment` objects by invoice id.
    var invoicePayments: [String: [JSON]] = [:]
    /// Payment methods forced for a customer by the test helper (`pm_card_chargeDeclined`, …).
    var forcedPaymentMethods: [String: String] = [:]
    /// Webhook secrets (not part of the endpoint object once created): current, and the rolled one with its expiry.
    var webhookSecrets: [String: WebhookSecrets] = [:]
    var idempotency = IdempotencyStore()
    var delivery: DeliveryQueue

    init(settings: Settings, idSeed: UInt64, faultSeed: UInt64) {
        self.settings = settings
        self.ids = IDGenerator(seed: idSeed)
        self.delivery = DeliveryQueue(seed: faultSeed)
    }

    // MARK: Events

    /// Records an event with `object` as it is now (as the API shows it) and queues its webhook deliveries.
    mutating func emit(_ type: String, _ object: JSON, previous: JSON? = nil) {
        let (object, previous) = Self.renderedEventData(object, previous: previous)
        let id = ids.make("evt")
        let endpoints = webhookEndpoints.order.compactMap { webhookEndpoints[$0] }.filter { endpoint in
            guard endpoint["status"].string == "enabled" else { return false }
            let enabled = endpoint["enabled_events"].array?.compactMap(\.string) ?? []
            return enabled.contains("*") || enabled.contains(type)
        }
        var data: JSON = ["object": object]
        if let previous { data["previous_attributes"] = previous }
        let event: JSON = [
            "id": .string(id),
            "object": "event",
            "api_version": .string(settings.apiVersion),
            "created": .int(now),
            "data": data,
            "livemode": false,
            "pending_webhooks": .int(endpoints.count),
            "request": ["id": .from(request?.id), "idempotency_key": .from(request?.idempotencyKey)],
            "type": .string(type),
        ]
        events[id] = event
        guard !endpoints.isEmpty else { return }
        let body = event.prettyBytes
        for endpoint in endpoints {
            guard let endpointID = endpoint["id"].string else { continue }
            delivery.enqueue(
                DeliveryJob(
                    eventID: id, endpointID: endpointID, eventType: type, body: body, attempt: 1, isDuplicate: false))
        }
    }

    /// A delivery succeeded: one fewer pending webhook on the event.
    mutating func markDelivered(eventID: String) {
        guard var event = events[eventID], let pending = event["pending_webhooks"].int, pending > 0 else { return }
        event["pending_webhooks"] = .int(pending - 1)
        events[eventID] = event
    }

    /// Applies `change` to a stored object and records `<kind>.updated` with `previous_attributes` when it changed.
    @discardableResult
    mutating func update(
        _ table: WritableKeyPath<StripeState, ObjectTable>, _ id: String, event: String?,
        _ change: (inout JSON) throws -> Void
    ) rethrows -> JSON {
        guard var object = self[keyPath: table][id] else { return .null }
        let before = object
        try change(&object)
        self[keyPath: table][id] = object
        if let event, let previous = object.previousAttributes(from: before) {
            emit(event, object, previous: previous)
        }
        return object
    }

    // MARK: Lookup

    /// The table holding ids with `id`'s prefix.
    static func table(for id: String) -> WritableKeyPath<StripeState, ObjectTable>? {
        guard let underscore = id.firstIndex(of: "_") else { return nil }
        switch id[..<underscore] {
        case "cus": return \.customers
        case "prod": return \.products
        case "price": return \.prices
        case "sub": return \.subscriptions
        case "in": return \.invoices
        case "ii": return \.invoiceItems
        case "pi": return \.paymentIntents
        case "ch": return \.charges
        case "re": return \.refunds
        case "cn": return \.creditNotes
        case "di": return \.discounts
        case "evt": return \.events
        case "we": return \.webhookEndpoints
        default: return nil
        }
    }

    func lookup(_ id: String) -> JSON? {
        guard let table = Self.table(for: id) else { return nil }
        return self[keyPath: table][id]
    }

    /// Fetches an object or throws Stripe's `resource_missing`.
    func require(
        _ table: KeyPath<StripeState, ObjectTable>, _ id: String, kind: String, param: String = "id"
    ) throws -> JSON {
        guard let object = self[keyPath: table][id] else { throw StripeError.missing(kind, id, param: param) }
        return object
    }
}

/// A webhook endpoint's signing secrets.
struct WebhookSecrets: Sendable {
    var current: String
    /// The rolled secret and the unix second until which it still signs.
    var previous: (secret: String, expiresAt: Int)?

    /// The secrets that sign a delivery at `now`: the current one first.
    func signing(at now: Int) -> [String] {
        guard let previous, previous.expiresAt > now else { return [current] }
        return [current, previous.secret]
    }
}

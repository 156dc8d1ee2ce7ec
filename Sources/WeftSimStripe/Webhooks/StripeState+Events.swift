extension StripeState {
    /// How long events are kept (Stripe: "List events, going back up to 30 days"; an event is retrieved "if it was
    /// created in the last 30 days").
    static let eventRetention = 30 * 86_400

    /// `GET /v1/events/:id`: an event older than the retention is gone.
    func retrieveEvent(_ id: String) throws -> JSON {
        let event = try require(\.events, id, kind: "event")
        guard (event["created"].int ?? 0) >= now - Self.eventRetention else { throw StripeError.missing("event", id) }
        return event
    }

    func listEvents(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let type = try params.string("type")
        let types = try params.stringList("types")
        if type != nil, types != nil {
            throw StripeError.invalidRequest(
                "You may only specify one of these parameters: type, types.", code: "parameters_exclusive",
                param: "type")
        }
        let deliverySuccess = try params.bool("delivery_success")
        let matchesType: (String) -> Bool
        if let type {
            if type.hasSuffix(".*") {
                let prefix = String(type.dropLast())
                matchesType = { $0.hasPrefix(prefix) }
            } else {
                matchesType = { $0 == type }
            }
        } else if let types {
            matchesType = { types.contains($0) }
        } else {
            matchesType = { _ in true }
        }
        // Stripe keeps 30 days of events: older ones are neither listed nor a cursor.
        let kept = now - Self.eventRetention
        let items = events.newestFirst.filter { event in
            (event["created"].int ?? 0) >= kept && created(event["created"].int ?? 0) && matchesType(event["type"].string ?? "")
                && (deliverySuccess == nil || (event["pending_webhooks"].int == 0) == deliverySuccess)
        }
        return try list(items, url: "/v1/events", params: params)
    }

    // MARK: Webhook endpoints

    private static let endpointFields: Set<String> = [
        "enabled_events", "url", "api_version", "connect", "description", "metadata", "disabled",
    ]

    mutating func createWebhookEndpoint(_ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.endpointFields.subtracting(["disabled"]))
        let url = try params.requiredString("url")
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw StripeError.invalidRequest("Invalid URL: \(url)", code: "url_invalid", param: "url")
        }
        guard let events = try params.stringList("enabled_events"), !events.isEmpty else {
            throw StripeError.missingParam("enabled_events")
        }
        try Self.validateEventTypes(events)
        let id = ids.make("we")
        let secret = "whsec_" + ids.token(32)
        var endpoint: JSON = [
            "id": .string(id), "object": "webhook_endpoint", "api_version": .from(try params.string("api_version")),
            "application": nil, "created": .int(now), "description": nil,
            "enabled_events": .array(events.map(JSON.string)), "livemode": false, "metadata": [:],
            "status": "enabled", "url": .string(url),
        ]
        try params.copyStrings(["description"], to: &endpoint)
        try params.applyMetadata(to: &endpoint)
        webhookEndpoints[id] = endpoint
        webhookSecrets[id] = WebhookSecrets(current: secret)
        var response = endpoint
        response["secret"] = .string(secret)
        return response
    }

    private static func validateEventTypes(_ events: [String]) throws {
        for (index, event) in events.enumerated() where event != "*" {
            let parts = event.split(separator: ".")
            guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }) else {
                throw StripeError.invalidRequest(
                    "Invalid enabled_events[\(index)]: \(event) is not a valid event type.",
                    param: "enabled_events[\(index)]")
            }
        }
    }

    mutating func updateWebhookEndpoint(_ id: String, _ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.endpointFields.subtracting(["api_version", "connect"]))
        _ = try require(\.webhookEndpoints, id, kind: "webhook endpoint")
        let events = try params.stringList("enabled_events")
        if let events { try Self.validateEventTypes(events) }
        return try update(\.webhookEndpoints, id, event: nil) { endpoint in
            if let url = try params.string("url"), !url.isEmpty { endpoint["url"] = .string(url) }
            if let events { endpoint["enabled_events"] = .array(events.map(JSON.string)) }
            if let disabled = try params.bool("disabled") { endpoint["status"] = disabled ? "disabled" : "enabled" }
            try params.copyStrings(["description"], to: &endpoint)
            try params.applyMetadata(to: &endpoint)
        }
    }

    mutating func deleteWebhookEndpoint(_ id: String) throws -> JSON {
        _ = try require(\.webhookEndpoints, id, kind: "webhook endpoint")
        webhookEndpoints.markDeleted(id)
        webhookSecrets[id] = nil
        return ["id": .string(id), "object": "webhook_endpoint", "deleted": true]
    }

    /// Rolls an endpoint's secret; the old one keeps signing (as a second `v1`) for `gracePeriod` seconds.
    mutating func rotateWebhookSecret(_ id: String, gracePeriod: Int) throws -> String {
        _ = try require(\.webhookEndpoints, id, kind: "webhook endpoint")
        let secret = "whsec_" + ids.token(32)
        let old = webhookSecrets[id]?.current
        webhookSecrets[id] = WebhookSecrets(
            current: secret, previous: old.flatMap { gracePeriod > 0 ? ($0, now + gracePeriod) : nil })
        return secret
    }
}

import Foundation
import WeftSimKit

/// Resources of one kind, in creation order.
struct ResourceTable: Sendable {
    private(set) var order: [String] = []
    private var rows: [String: JSON] = [:]

    subscript(id: String) -> JSON? {
        get { rows[id] }
        set {
            if let newValue {
                if rows.updateValue(newValue, forKey: id) == nil { order.append(id) }
            } else if rows.removeValue(forKey: id) != nil {
                order.removeAll { $0 == id }
            }
        }
    }

    func contains(_ id: String) -> Bool { rows[id] != nil }

    /// All rows, oldest first.
    var all: [JSON] { order.compactMap { rows[$0] } }
}

/// The simulator's whole state, changed only under its lock, one request at a time.
struct ChargebeeState: Sendable {
    struct Settings: Sendable {
        var site: String
        var prorateByDefault: Bool
        var defaultPaymentOutcome: ChargebeeSimulator.PaymentOutcome
        var dunningRetryInterval: Int
        var dunningEndAction: ChargebeeSimulator.DunningEndAction
        var endpoints: [ChargebeeSimulator.WebhookEndpoint]
    }

    let settings: Settings
    /// The current time (unix seconds), set at the start of every request.
    var now = 0
    /// `api`, `scheduled_job` or `admin_console`: the `source` of the events a request makes.
    var source = "api"
    var random: SplitMix64
    private var lastVersion = 0
    var invoiceSequence = 0
    var creditNoteSequence = 0

    var customers = ResourceTable()
    var items = ResourceTable()
    var itemPrices = ResourceTable()
    var subscriptions = ResourceTable()
    var invoices = ResourceTable()
    var transactions = ResourceTable()
    var creditNotes = ResourceTable()
    /// Events in the order they occurred.
    var events: [JSON] = []
    var eventIndex: [String: Int] = [:]
    var paymentOutcomes: [String: ChargebeeSimulator.PaymentOutcome] = [:]
    var delivery: DeliveryQueue
    var idempotency: [String: SavedReply] = [:]
    var rateWindow = (minute: 0, count: 0)

    struct SavedReply: Sendable {
        var fingerprint: String
        var reply: APIReply
        var at: Int
    }

    init(settings: Settings, idSeed: UInt64, faultSeed: UInt64) {
        self.settings = settings
        self.random = SplitMix64(seed: idSeed)
        self.delivery = DeliveryQueue(seed: faultSeed)
    }

    // MARK: Ids and versions

    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// A Chargebee-style random id (`AzZj8YUNvVpaG1a6s`), with an optional prefix (`txn_`, `ev_`).
    mutating func makeID(_ prefix: String = "") -> String {
        var id = prefix + "16"
        for _ in 0..<15 { id.append(Self.alphabet[Int(random.next() % UInt64(Self.alphabet.count))]) }
        return id
    }

    /// The next `resource_version`: milliseconds since 1970, strictly increasing across the site.
    mutating func nextVersion() -> Int {
        lastVersion = max(lastVersion + 1, now * 1000)
        return lastVersion
    }

    /// Stamps `updated_at` and a new `resource_version`.
    mutating func touch(_ resource: inout JSON) {
        resource["updated_at"] = .int(now)
        resource["resource_version"] = .int(nextVersion())
    }

    // MARK: Lookups

    func customer(_ id: String, param: String? = nil) throws(ChargebeeError) -> JSON {
        guard let customer = customers[id], customer["deleted"].bool != true else { throw .notFound(param: param) }
        return customer
    }

    func subscription(_ id: String) throws(ChargebeeError) -> JSON {
        guard let subscription = subscriptions[id] else { throw .notFound() }
        return subscription
    }

    func invoice(_ id: String) throws(ChargebeeError) -> JSON {
        guard let invoice = invoices[id] else { throw .notFound() }
        return invoice
    }

    // MARK: Events

    /// Records an event and queues it for every endpoint that wants it.
    mutating func emit(_ type: String, _ content: JSON) {
        let id = makeID("ev_")
        let endpoints = settings.endpoints.filter { $0.eventTypes?.contains(type) ?? true }
        var event: JSON = [
            "id": .string(id), "occurred_at": .int(now), "source": .string(source), "object": "event",
            "api_version": "v2", "event_type": .string(type),
            "webhook_status": endpoints.isEmpty ? "not_configured" : "scheduled",
        ]
        if !endpoints.isEmpty {
            event["webhooks"] = .array(
                endpoints.map { ["id": .string($0.id), "webhook_status": "scheduled", "object": "webhook"] })
        }
        event["content"] = content
        eventIndex[id] = events.count
        events.append(event)
        for endpoint in endpoints {
            delivery.enqueue(
                DeliveryJob(
                    eventID: id, eventType: type, endpointID: endpoint.id, body: event.bytes, attempt: 1,
                    isDuplicate: false))
        }
    }

    /// Marks a delivery's outcome on the event (`webhook_status` of the event and of that endpoint's webhook).
    mutating func markDelivery(eventID: String, endpointID: String, succeeded: Bool, final: Bool) {
        guard let index = eventIndex[eventID] else { return }
        var event = events[index]
        let status = succeeded ? "succeeded" : (final ? "failed" : "re_scheduled")
        var webhooks = event["webhooks"].array ?? []
        for position in webhooks.indices where webhooks[position]["id"].string == endpointID {
            webhooks[position]["webhook_status"] = .string(status)
        }
        event["webhooks"] = .array(webhooks)
        let statuses = webhooks.compactMap { $0["webhook_status"].string }
        event["webhook_status"] =
            .string(
                statuses.allSatisfy { $0 == "succeeded" }
                    ? "succeeded"
                    : statuses.contains("failed") ? "failed" : statuses.contains("re_scheduled") ? "re_scheduled" : "scheduled")
        events[index] = event
    }

    // MARK: Lists

    /// One page of a list: `{"list":[{"<key>":…}],"next_offset":"…"}`. The offset is the index of the next row.
    func page(_ rows: [JSON], key: String, params: FormBody, extra: (JSON) -> [(String, JSON)] = { _ in [] })
        throws(ChargebeeError) -> JSON
    {
        let limit = try Self.limit(params)
        var start = 0
        if let offset = params.string("offset") {
            guard let value = Int(offset), value >= 0 else { throw .paramInvalid("offset", "invalid value") }
            start = value
        }
        let slice = rows.dropFirst(start).prefix(limit)
        var body: JSON = [
            "list": .array(
                slice.map { row in
                    var entry: JSON = [key: row]
                    for (name, value) in extra(row) { entry[name] = value }
                    return entry
                })
        ]
        if start + slice.count < rows.count { body["next_offset"] = .string(String(start + slice.count)) }
        return body
    }

    static func limit(_ params: FormBody) throws(ChargebeeError) -> Int {
        let limit = try params.int("limit") ?? 10
        guard (1...100).contains(limit) else { throw .paramInvalid("limit", "must be between 1 and 100") }
        return limit
    }

    /// Applies a timestamp filter such as `created_at[after]=…` (also `[before]`, `[on]`, `[between]`).
    static func timeFilter(_ params: FormBody, _ name: String) throws(ChargebeeError) -> (Int) -> Bool {
        var tests: [(Int) -> Bool] = []
        for (op, value) in params.hash(name) {
            if op == "between" {
                let bounds = value.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",")
                    .compactMap { Int($0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))) }
                guard bounds.count == 2 else { throw .paramInvalid("\(name)[between]", "invalid value") }
                tests.append { $0 >= bounds[0] && $0 <= bounds[1] }
                continue
            }
            guard let bound = Int(value) else { throw .paramInvalid("\(name)[\(op)]", "invalid value") }
            switch op {
            case "after": tests.append { $0 > bound }
            case "before": tests.append { $0 < bound }
            case "on": tests.append { $0 == bound }
            default: throw .paramInvalid("\(name)[\(op)]", "unsupported operator")
            }
        }
        return { value in tests.allSatisfy { $0(value) } }
    }
}

/// A rendered API answer.
struct APIReply: Sendable {
    var status: Int
    var body: JSON
    var headers: [(String, String)] = []
}

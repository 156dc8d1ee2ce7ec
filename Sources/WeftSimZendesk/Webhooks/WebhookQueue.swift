import WeftSimKit

/// One webhook request to make: an event for an endpoint, and which attempt comes next.
struct WebhookJob: Sendable {
    var eventID: String
    var eventType: String
    var endpointID: String
    var body: [UInt8]
    /// The attempt about to be made, from 1.
    var attempt: Int
}

/// What the webhook sender did, for tests and `GET /__sim/webhooks/deliveries`.
public struct WebhookDelivery: Sendable, Hashable, Codable {
    /// The event's id.
    public var eventID: String
    /// The event's type (`zen:event-type:ticket.created`).
    public var eventType: String
    /// The webhook it went to.
    public var endpointID: String
    /// 1 for the first attempt, 2 for the first retry…
    public var attempt: Int
    /// The receiver's status, or `nil` when the request failed or timed out.
    public var status: Int?
    /// Whether the receiver answered 2xx.
    public var succeeded: Bool
    /// The body sent (the event JSON).
    public var body: String

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case eventType = "event_type"
        case endpointID = "endpoint_id"
        case attempt, status, succeeded, body
    }
}

/// The sender's ready jobs and the log of attempts. A value type kept under the simulator's lock.
struct WebhookQueue: Sendable {
    private var ready: [WebhookJob] = []
    private(set) var attempts: [WebhookDelivery] = []
    private var random: SplitMix64

    init(seed: UInt64) {
        self.random = SplitMix64(seed: seed ^ 0x5A5A)
    }

    mutating func push(_ job: WebhookJob) { ready.append(job) }

    mutating func next() -> WebhookJob? { ready.isEmpty ? nil : ready.removeFirst() }

    mutating func record(_ attempt: WebhookDelivery) {
        if attempts.count >= 100_000 { attempts.removeFirst(attempts.count / 2) }
        attempts.append(attempt)
    }

    /// A ULID-shaped event id (`01HNXXXX…`, 26 characters of Crockford base32).
    mutating func makeEventID() -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        var id = "01"
        for _ in 0..<24 { id.append(alphabet[Int(random.next() % 32)]) }
        return id
    }
}

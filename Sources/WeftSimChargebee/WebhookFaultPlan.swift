import WeftSimKit

/// Faults on the webhook sender (Chargebee may deliver events out of order and more than once), set over
/// `POST /__sim/webhooks/faults` or `ChargebeeSimulator.setWebhookFaults(_:)`.
public struct WebhookFaultPlan: Codable, Sendable, Hashable {
    /// Fraction (0…1) of deliveries sent twice (the same event and id, as a second, independent delivery).
    public var duplicateRate: Double
    /// When above 1, first attempts are held until this many are waiting, then released in a shuffled order.
    public var reorderWindow: Int

    /// - Parameters:
    ///   - duplicateRate: fraction (0…1) of deliveries sent twice.
    ///   - reorderWindow: how many deliveries are shuffled together (0 or 1: in order).
    public init(duplicateRate: Double = 0, reorderWindow: Int = 0) {
        self.duplicateRate = duplicateRate
        self.reorderWindow = reorderWindow
    }

    enum CodingKeys: String, CodingKey {
        case duplicateRate = "duplicate_rate"
        case reorderWindow = "reorder_window"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.duplicateRate = try container.decodeIfPresent(Double.self, forKey: .duplicateRate) ?? 0
        self.reorderWindow = try container.decodeIfPresent(Int.self, forKey: .reorderWindow) ?? 0
    }
}

/// What the webhook sender did, for tests and `GET /__sim/webhooks/deliveries`.
public struct WebhookDeliveryAttempt: Sendable, Hashable, Codable {
    /// The event delivered.
    public var eventID: String
    /// The event's type.
    public var eventType: String
    /// The endpoint it went to.
    public var endpointID: String
    /// 1 for the first attempt, 2 for the first retry…
    public var attempt: Int
    /// The receiver's status, or `nil` when the request failed or timed out.
    public var status: Int?
    /// Whether the receiver answered 2xx.
    public var succeeded: Bool
    /// Whether this is the extra copy sent by the duplicate fault.
    public var isDuplicate: Bool

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case eventType = "event_type"
        case endpointID = "endpoint_id"
        case attempt, status, succeeded
        case isDuplicate = "duplicate"
    }
}

/// One webhook delivery: an event for an endpoint, and which attempt comes next.
struct DeliveryJob: Sendable {
    var eventID: String
    var eventType: String
    var endpointID: String
    var body: [UInt8]
    var attempt: Int
    var isDuplicate: Bool
}

/// The webhook sender's queue: ready jobs, a reorder hold, in-flight and retry-waiting counts, pause, and the
/// continuations of callers waiting for everything to settle. A value type kept in the simulator's state.
struct DeliveryQueue: Sendable {
    private var ready: [DeliveryJob] = []
    private var held: [DeliveryJob] = []
    private var inFlight = 0
    private var waitingRetry = 0
    private(set) var paused = false
    private(set) var faults = WebhookFaultPlan()
    private var random: SplitMix64
    private(set) var attempts: [WebhookDeliveryAttempt] = []
    private var settleWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiterID = 0

    init(seed: UInt64) {
        self.random = SplitMix64(seed: seed)
    }

    var pending: Int { ready.count + held.count + inFlight + waitingRetry }

    mutating func enqueue(_ job: DeliveryJob) {
        var copies = [job]
        if faults.duplicateRate > 0, random.nextUnit() < faults.duplicateRate {
            var duplicate = job
            duplicate.isDuplicate = true
            copies.append(duplicate)
        }
        if faults.reorderWindow > 1 {
            held.append(contentsOf: copies)
            if held.count >= faults.reorderWindow { releaseHeld() }
        } else {
            ready.append(contentsOf: copies)
        }
    }

    mutating func releaseHeld() {
        guard !held.isEmpty else { return }
        held.shuffle(using: &random)
        ready.append(contentsOf: held)
        held.removeAll()
    }

    mutating func setFaults(_ plan: WebhookFaultPlan) {
        faults = plan
        if plan.reorderWindow <= 1 || held.count >= plan.reorderWindow { releaseHeld() }
    }

    mutating func setPaused(_ paused: Bool) { self.paused = paused }

    mutating func next(maxConcurrent: Int) -> DeliveryJob? {
        guard !paused, inFlight < maxConcurrent, !ready.isEmpty else { return nil }
        inFlight += 1
        return ready.removeFirst()
    }

    /// Records an attempt's outcome; returns whether the job will be retried (then `retryDue` must follow).
    mutating func finished(_ job: DeliveryJob, status: Int?, succeeded: Bool, retries: Int) -> Bool {
        inFlight -= 1
        attempts.append(
            WebhookDeliveryAttempt(
                eventID: job.eventID, eventType: job.eventType, endpointID: job.endpointID, attempt: job.attempt,
                status: status, succeeded: succeeded, isDuplicate: job.isDuplicate))
        guard !succeeded, job.attempt <= retries else { return false }
        waitingRetry += 1
        return true
    }

    mutating func retryDue(_ job: DeliveryJob) {
        waitingRetry -= 1
        var next = job
        next.attempt += 1
        ready.append(next)
    }

    mutating func retryAbandoned() { waitingRetry -= 1 }

    mutating func addSettleWaiter(_ continuation: CheckedContinuation<Void, Never>, id: Int) -> Bool {
        releaseHeld()
        guard pending > 0 else { return false }
        settleWaiters[id] = continuation
        return true
    }

    mutating func makeWaiterID() -> Int {
        nextWaiterID += 1
        return nextWaiterID
    }

    mutating func removeSettleWaiter(id: Int) -> CheckedContinuation<Void, Never>? {
        settleWaiters.removeValue(forKey: id)
    }

    mutating func takeWaitersIfSettled() -> [CheckedContinuation<Void, Never>] {
        guard pending == 0, !settleWaiters.isEmpty else { return [] }
        defer { settleWaiters.removeAll() }
        return Array(settleWaiters.values)
    }
}

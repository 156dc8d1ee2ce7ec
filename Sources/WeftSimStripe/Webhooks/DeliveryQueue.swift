import WeftSimKit

/// One webhook delivery: an event for an endpoint, and which attempt comes next.
struct DeliveryJob: Sendable {
    var eventID: String
    var endpointID: String
    var eventType: String
    var body: [UInt8]
    /// The attempt about to be made, from 1.
    var attempt: Int
    var isDuplicate: Bool
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
    /// Whether this is the extra copy sent by the duplicate-delivery fault.
    public var isDuplicate: Bool

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case eventType = "event_type"
        case endpointID = "endpoint_id"
        case attempt, status, succeeded
        case isDuplicate = "duplicate"
    }
}

/// The webhook sender's queue: ready jobs, a reorder hold, in-flight and retry-waiting counts, pause, and the
/// continuations of callers waiting for everything to settle. A value type: the simulator keeps it in its state.
struct DeliveryQueue: Sendable {
    private var ready: [DeliveryJob] = []
    private var readyHead = 0
    private var held: [DeliveryJob] = []
    private var inFlight = 0
    private var waitingRetry = 0
    private(set) var paused = false
    private(set) var faults = WebhookFaultPlan()
    private var random: SplitMix
    private(set) var attempts: [WebhookDeliveryAttempt] = []
    private var settleWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiterID = 0
    private let attemptLogCapacity = 100_000

    init(seed: UInt64) {
        self.random = SplitMix(seed: seed)
    }

    /// Deliveries not yet finished: ready, held for reordering, in flight or waiting to be retried.
    var pending: Int { ready.count - readyHead + held.count + inFlight + waitingRetry }

    /// Adds the first attempt of a delivery, applying the duplicate and reorder faults.
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

    /// Moves held jobs to the ready queue in a shuffled order.
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

    /// Takes the next job to send, unless paused or `maxConcurrent` are already in flight.
    mutating func next(maxConcurrent: Int) -> DeliveryJob? {
        guard !paused, inFlight < maxConcurrent, readyHead < ready.count else { return nil }
        let job = ready[readyHead]
        readyHead += 1
        if readyHead > 1024, readyHead * 2 > ready.count {
            ready.removeFirst(readyHead)
            readyHead = 0
        }
        inFlight += 1
        return job
    }

    /// Records an attempt's outcome; returns whether the job will be retried (then `retryDue` must follow).
    mutating func finished(_ job: DeliveryJob, status: Int?, succeeded: Bool, maxAttempts: Int) -> Bool {
        inFlight -= 1
        if attempts.count >= attemptLogCapacity { attempts.removeFirst(attempts.count / 2) }
        attempts.append(
            WebhookDeliveryAttempt(
                eventID: job.eventID, eventType: job.eventType, endpointID: job.endpointID, attempt: job.attempt,
                status: status, succeeded: succeeded, isDuplicate: job.isDuplicate))
        guard !succeeded, job.attempt < maxAttempts else { return false }
        waitingRetry += 1
        return true
    }

    /// A retry's backoff elapsed: the job is ready again.
    mutating func retryDue(_ job: DeliveryJob) {
        waitingRetry -= 1
        var next = job
        next.attempt += 1
        ready.append(next)
    }

    /// A retry was abandoned because the sender stopped.
    mutating func retryAbandoned() { waitingRetry -= 1 }

    /// Registers a waiter for "nothing pending"; returns `false` (and registers nothing) when already settled.
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

    /// The waiters to resume when nothing is pending any more.
    mutating func takeWaitersIfSettled() -> [CheckedContinuation<Void, Never>] {
        guard pending == 0, !settleWaiters.isEmpty else { return [] }
        defer { settleWaiters.removeAll() }
        return Array(settleWaiters.values)
    }
}

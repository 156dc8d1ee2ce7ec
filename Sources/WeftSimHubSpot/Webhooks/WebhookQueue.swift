import WeftSimKit

/// One event as it will be sent (`attemptNumber` is filled in per attempt).
struct QueuedEvent: Sendable {
    var eventID: Int
    var subscriptionID: Int
    var subscriptionType: String
    var occurredAt: Int
    var objectID: Int
    var propertyName: String?
    var propertyValue: String?
    var changeSource: String
    var sourceID: String?
    var extra: [(String, JSON)]

    /// The event's JSON, in HubSpot's member order.
    func json(portalID: Int, appID: Int, attemptNumber: Int) -> JSON {
        var object = JSONObject([
            ("eventId", .int(eventID)), ("subscriptionId", .int(subscriptionID)), ("portalId", .int(portalID)),
            ("appId", .int(appID)), ("occurredAt", .int(occurredAt)), ("subscriptionType", .string(subscriptionType)),
            ("attemptNumber", .int(attemptNumber)),
        ])
        if !subscriptionType.hasSuffix(".associationChange") { object["objectId"] = .int(objectID) }
        if let propertyName {
            object["propertyName"] = .string(propertyName)
            object["propertyValue"] = .string(propertyValue ?? "")
        }
        if subscriptionType.hasSuffix(".creation") { object["changeFlag"] = "CREATED" }
        if subscriptionType.hasSuffix(".deletion") { object["changeFlag"] = "DELETED" }
        object["changeSource"] = .string(changeSource)
        if let sourceID { object["sourceId"] = .string(sourceID) }
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }
}

/// One webhook request: a batch of events and the attempt about to be made (from 1).
struct WebhookJob: Sendable {
    var events: [QueuedEvent]
    var attempt: Int
}

/// What the webhook sender did, for tests and `GET /__sim/webhooks/deliveries`.
public struct WebhookDelivery: Sendable, Hashable, Codable {
    /// The `eventId`s in the request, in the order sent.
    public var eventIDs: [Int]
    /// 1 for the first attempt, 2 for the first retry…
    public var attempt: Int
    /// The receiver's status, or `nil` when the request failed or timed out.
    public var status: Int?
    /// Whether the receiver answered 2xx.
    public var succeeded: Bool

    enum CodingKeys: String, CodingKey {
        case eventIDs = "event_ids"
        case attempt, status, succeeded
    }
}

/// The sender's events waiting to be batched, the reorder hold, jobs in flight or waiting for a retry, the log of
/// attempts and the callers waiting for everything to settle. A value type kept under the simulator's lock.
struct WebhookQueue: Sendable {
    private var buffer: [QueuedEvent] = []
    private var held: [QueuedEvent] = []
    private var inFlight = 0
    private var waitingRetry = 0
    private(set) var faults = WebhookFaultPlan()
    private(set) var attempts: [WebhookDelivery] = []
    private var random: SplitMix64
    private var nextEventID: Int
    private var settleWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiterID = 0

    init(seed: UInt64) {
        self.random = SplitMix64(seed: seed ^ 0x4855_4253)
        self.nextEventID = 100 + Int(seed % 1000) * 10
    }

    var pending: Int { buffer.count + held.count + inFlight + waitingRetry }

    mutating func makeEventID() -> Int {
        nextEventID += 1
        return nextEventID
    }

    mutating func enqueue(_ event: QueuedEvent) {
        var copies = [event]
        if faults.duplicateRate > 0, random.nextUnit() < faults.duplicateRate { copies.append(event) }
        if faults.reorderWindow > 1 {
            held.append(contentsOf: copies)
            if held.count >= faults.reorderWindow { releaseHeld() }
        } else {
            buffer.append(contentsOf: copies)
        }
    }

    mutating func releaseHeld() {
        guard !held.isEmpty else { return }
        held.shuffle(using: &random)
        buffer.append(contentsOf: held)
        held.removeAll()
    }

    mutating func setFaults(_ plan: WebhookFaultPlan) {
        faults = plan
        if plan.reorderWindow <= 1 || held.count >= plan.reorderWindow { releaseHeld() }
    }

    /// The next request: up to `maxEvents` buffered events, never the same `eventId` twice in one request.
    mutating func next(maxEvents: Int) -> WebhookJob? {
        guard !buffer.isEmpty else { return nil }
        var taken: [QueuedEvent] = []
        var ids: Set<Int> = []
        var index = 0
        while index < buffer.count, taken.count < maxEvents {
            if ids.insert(buffer[index].eventID).inserted {
                taken.append(buffer.remove(at: index))
            } else {
                index += 1
            }
        }
        inFlight += 1
        return WebhookJob(events: taken, attempt: 1)
    }

    /// Records an attempt; returns whether the job will be retried (then `retryDue` or `retryAbandoned` follows).
    mutating func finished(_ job: WebhookJob, status: Int?, succeeded: Bool, retry: Bool) -> Bool {
        inFlight -= 1
        if attempts.count >= 100_000 { attempts.removeFirst(attempts.count / 2) }
        attempts.append(
            WebhookDelivery(eventIDs: job.events.map(\.eventID), attempt: job.attempt, status: status, succeeded: succeeded))
        guard !succeeded, retry else { return false }
        waitingRetry += 1
        return true
    }

    mutating func retryDue() {
        waitingRetry -= 1
        inFlight += 1
    }

    mutating func retryAbandoned() { waitingRetry -= 1 }

    mutating func makeWaiterID() -> Int {
        nextWaiterID += 1
        return nextWaiterID
    }

    mutating func addSettleWaiter(_ continuation: CheckedContinuation<Void, Never>, id: Int) -> Bool {
        releaseHeld()
        guard pending > 0 else { return false }
        settleWaiters[id] = continuation
        return true
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

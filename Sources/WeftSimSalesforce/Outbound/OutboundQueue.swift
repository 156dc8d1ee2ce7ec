import WeftSimKit

/// A notification waiting to be sent.
struct PendingNotification: Sendable {
    var notificationID: String
    var messageIndex: Int
    var recordType: String
    var recordID: String
    var queuedAt: Int
    /// Attempts made so far.
    var attempts: Int
    var dueAt: Int
    /// The record's values when it was last read (used if the record is gone by the time it is sent).
    var snapshot: [String: JSON]
}

/// One SOAP message about to be sent.
struct OutboundBatch: Sendable {
    var messageIndex: Int
    var endpointURL: String
    var notifications: [PendingNotification]
    var body: [UInt8]
}

/// What the outbound message sender did, for tests and `GET /__sim/outbound/deliveries`.
public struct OutboundMessageDelivery: Sendable, Hashable, Codable {
    /// The notification `Id`s (`04l…`) in the message, in the order sent.
    public var notificationIDs: [String]
    /// The records the notifications are about, in the same order.
    public var recordIDs: [String]
    /// Where it was sent.
    public var endpointURL: String
    /// The highest attempt number among the notifications (1 for a first attempt).
    public var attempt: Int
    /// The listener's status, or `nil` when the request failed or timed out.
    public var status: Int?
    /// Whether the listener answered 2xx with `<Ack>true</Ack>`.
    public var acknowledged: Bool

    enum CodingKeys: String, CodingKey {
        case notificationIDs = "notification_ids"
        case recordIDs = "record_ids"
        case endpointURL = "endpoint_url"
        case attempt, status, acknowledged
    }
}

/// The outbound message queue: pending notifications, messages in flight, the attempt log and fault decisions.
struct OutboundQueue: Sendable {
    var pending: [PendingNotification] = []
    var inFlight = 0
    var faults = OutboundFaultPlan()
    var attempts: [OutboundMessageDelivery] = []
    var dropped = 0
    private var random: SplitMix64

    init(seed: UInt64) { self.random = SplitMix64(seed: seed) }

    var count: Int { pending.count + inFlight }

    /// Removes and returns the notifications due at `now` (all of them with `ignoringBackoff`), reordered when the
    /// fault plan says so; notifications older than `maxAgeMs` are dropped.
    mutating func takeDue(now: Int, maxAgeMs: Int, ignoringBackoff: Bool) -> [PendingNotification] {
        let before = pending.count
        pending.removeAll { now - $0.queuedAt >= maxAgeMs }
        dropped += before - pending.count
        var due: [PendingNotification] = []
        var rest: [PendingNotification] = []
        for notification in pending {
            if ignoringBackoff || notification.dueAt <= now { due.append(notification) } else { rest.append(notification) }
        }
        pending = rest
        if faults.reorderWindow > 1 {
            var shuffled: [PendingNotification] = []
            var index = 0
            while index < due.count {
                var window = Array(due[index..<min(due.count, index + faults.reorderWindow)])
                window.shuffle(using: &random)
                shuffled.append(contentsOf: window)
                index += faults.reorderWindow
            }
            due = shuffled
        }
        return due
    }

    /// Whether an acknowledged notification is to be sent once more.
    mutating func duplicate() -> Bool { faults.duplicateRate > 0 && random.nextUnit() < faults.duplicateRate }
}

import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WeftSimKit

extension SalesforceSimulator {
    /// Every outbound message attempt so far, oldest first.
    public var outboundDeliveries: [OutboundMessageDelivery] { state.withLock { $0.outbound.attempts } }

    /// Notifications not acknowledged yet (queued, waiting for a retry or in flight).
    public var pendingOutboundNotifications: Int { state.withLock { $0.outbound.count } }

    /// Notifications dropped after `Delivery.maxAge` without an acknowledgement.
    public var droppedOutboundNotifications: Int { state.withLock { $0.outbound.dropped } }

    /// Points outbound messages at `url` from now on (as an admin editing the Outbound Message's endpoint): the one
    /// named `name`, or all of them. Notifications already queued go to the new URL on their next attempt.
    public func setOutboundEndpoint(_ url: String, for name: String? = nil) {
        endpointOverrides.withLock { overrides in
            for message in configuration.outboundMessages where name == nil || message.name == name {
                overrides[message.name] = url
            }
        }
        doorbell.ring()
    }

    /// Sets the sender's faults (duplicates, reordering).
    public func setOutboundFaults(_ plan: OutboundFaultPlan) {
        state.withLock { $0.outbound.faults = plan }
        doorbell.ring()
    }

    /// Sends every notification that is due (all pending ones with `ignoringBackoff`), in SOAP messages of up to
    /// `maxNotificationsPerMessage` per outbound message definition, and returns the attempts made. Unacknowledged
    /// notifications are scheduled for a retry with exponential backoff.
    @discardableResult
    public func deliverPending(ignoringBackoff: Bool = false) async -> [OutboundMessageDelivery] {
        let batches = takeBatches(ignoringBackoff: ignoringBackoff)
        var made: [OutboundMessageDelivery] = []
        for batch in batches { made.append(await send(batch)) }
        return made
    }

    /// Sends outbound messages until the calling task is cancelled: new notifications go out at once, retries when
    /// their backoff has passed (checked every `Delivery.pollInterval`).
    public func runDelivery() async {
        let delivery = configuration.delivery
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [doorbell] in
                while !Task.isCancelled {
                    do { try await delivery.clock.sleep(for: delivery.pollInterval) } catch { return }
                    doorbell.ring()
                }
            }
            while !Task.isCancelled {
                await deliverPending()
                await doorbell.wait()
            }
            group.cancelAll()
        }
    }

    private func takeBatches(ignoringBackoff: Bool) -> [OutboundBatch] {
        let now = self.now
        let delivery = configuration.delivery
        let maxAge = delivery.maxAge.components
        let maxAgeMs = Int(maxAge.seconds) * 1000 + Int(maxAge.attoseconds / 1_000_000_000_000_000)
        let instanceURL = self.instanceURL.withLock { $0 }
        let overrides = endpointOverrides.withLock { $0 }
        let apiVersion = configuration.apiVersions.last ?? "62.0"
        return state.withLock { state in
            state.now = now
            var due = state.outbound.takeDue(now: now, maxAgeMs: maxAgeMs, ignoringBackoff: ignoringBackoff)
            for index in due.indices {
                if let record = state.records[due[index].recordID] { due[index].snapshot = record.fields }
            }
            var batches: [OutboundBatch] = []
            var groups: [Int: [PendingNotification]] = [:]
            var groupOrder: [Int] = []
            for notification in due {
                if groups[notification.messageIndex] == nil { groupOrder.append(notification.messageIndex) }
                groups[notification.messageIndex, default: []].append(notification)
            }
            for index in groupOrder {
                let message = configuration.outboundMessages[index]
                let actionID = Self.actionID(index: index, organizationID: configuration.organizationID)
                let object = state.schema.object(message.sObjectType)
                let all = groups[index] ?? []
                var start = 0
                while start < all.count {
                    let chunk = Array(all[start..<min(all.count, start + delivery.maxNotificationsPerMessage)])
                    start += delivery.maxNotificationsPerMessage
                    let items = chunk.map { notification in
                        var names = ["Id"]
                        for name in message.fields where name.lowercased() != "id" { names.append(name) }
                        let fields = names.compactMap { name -> (String, JSON, FieldKind)? in
                            guard let field = object?.field(name) else { return nil }
                            return (field.name, notification.snapshot[field.name] ?? .null, field.kind)
                        }
                        return OutboundEnvelope.Item(
                            notificationID: notification.notificationID, type: notification.recordType, fields: fields)
                    }
                    let xml = OutboundEnvelope.render(
                        organizationID: configuration.organizationID, actionID: actionID, instanceURL: instanceURL,
                        apiVersion: apiVersion, items: items)
                    batches.append(
                        OutboundBatch(
                            messageIndex: index, endpointURL: overrides[message.name] ?? message.endpointURL, notifications: chunk,
                            body: Array(xml.utf8)))
                    state.outbound.inFlight += 1
                }
            }
            return batches
        }
    }

    /// The outbound message definition's id (`04k…`), stable for the org.
    static func actionID(index: Int, organizationID: String) -> String {
        SalesforceID.make(prefix: "04k", pod: String(organizationID.dropFirst(3).prefix(2)), serial: 1000 + index)
    }

    private func send(_ batch: OutboundBatch) async -> OutboundMessageDelivery {
        let delivery = configuration.delivery
        var request = HTTPClientRequest(url: batch.endpointURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/xml; charset=utf-8")
        request.headers.add(name: "SOAPAction", value: "\"\"")
        request.headers.add(name: "User-Agent", value: "Jakarta Commons-HttpClient/3.1")
        request.body = .bytes(ByteBuffer(bytes: batch.body))
        var status: Int?
        var acknowledged = false
        do {
            let timeout = delivery.timeout.components
            let response = try await httpClient.execute(
                request, timeout: .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000))
            let body = try await response.body.collect(upTo: 1 << 20)
            status = Int(response.status.code)
            acknowledged = (200..<300).contains(Int(response.status.code)) && OutboundEnvelope.isAck(Array(body.readableBytesView))
        } catch {
            configuration.logger.debug("outbound message delivery failed", metadata: ["weft.outbound.endpoint": "\(batch.endpointURL)"])
        }
        let now = self.now
        let attempt = (batch.notifications.map(\.attempts).max() ?? 0) + 1
        let record = OutboundMessageDelivery(
            notificationIDs: batch.notifications.map(\.notificationID), recordIDs: batch.notifications.map(\.recordID),
            endpointURL: batch.endpointURL, attempt: attempt, status: status, acknowledged: acknowledged)
        let retryWake = state.withLock { state -> Bool in
            state.outbound.inFlight -= 1
            if state.outbound.attempts.count >= 100_000 { state.outbound.attempts.removeFirst(50_000) }
            state.outbound.attempts.append(record)
            for var notification in batch.notifications {
                notification.attempts += 1
                if acknowledged {
                    if state.outbound.duplicate() {
                        notification.dueAt = now
                        state.outbound.pending.append(notification)
                    }
                } else {
                    notification.dueAt = now + backoffMs(afterAttempt: notification.attempts)
                    state.outbound.pending.append(notification)
                }
            }
            return acknowledged && !state.outbound.pending.isEmpty
        }
        if retryWake { doorbell.ring() }
        return record
    }

    /// The wait after attempt `attempt` (1 = the first): the base delay, doubling, capped.
    func backoffMs(afterAttempt attempt: Int) -> Int {
        let delivery = configuration.delivery
        func ms(_ duration: Duration) -> Int {
            let parts = duration.components
            return Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000)
        }
        let cap = ms(delivery.maxRetryDelay)
        var delay = ms(delivery.retryBaseDelay)
        for _ in 1..<max(1, attempt) {
            delay *= 2
            if delay >= cap { return cap }
        }
        return min(delay, cap)
    }
}

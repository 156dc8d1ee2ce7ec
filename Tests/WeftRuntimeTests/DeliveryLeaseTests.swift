import Foundation
import Logging
import Synchronization
import Testing
import WeftCore
import WeftRuntime
import WeftStoreSQLite

/// A delivery that outlasts its lease (a rate-limit wait, a slow target) keeps its claim: the dispatcher renews the
/// lease while it sends, so no other node claims and sends the same command meanwhile.
@Suite("Delivery leases")
struct DeliveryLeaseTests {
    /// Holds every delivery until the test lets it go.
    final class HeldConnector: TargetConnector {
        let calls = Mutex(0)
        let started = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        var maxBatchSize: Int { 10 }

        func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
            calls.withLock { $0 += 1 }
            started.continuation.yield()
            for await _ in release.stream { break }
            return batch.map { _ in .delivered(record: TargetRecordID(model: "res.partner", id: "1")) }
        }
    }

    /// A store holding one pending command for `odoo`, as the pipeline leaves it.
    static func storeWithOneCommand() async throws -> SQLiteStore {
        let store = try SQLiteStore.temporary(logger: Logger(label: "weft.test"))
        let t0 = Date()
        _ = try await store.append([
            IncomingEvent(
                system: "stripe", eventID: SourceEventID("evt_1"), type: "customer.created", entityKey: EntityKey("k1"),
                occurredAt: t0, receivedAt: t0, payload: Data("{}".utf8), traceID: TraceID("t1"))
        ])
        let event = try #require(try await store.claimEvents(limit: 1, owner: "p", lease: .seconds(60), now: t0).first)
        let customer = Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: "cus_1"), name: "Ada")
        try await store.commitProcessed(
            [
                ProcessedEvent(
                    seq: event.seq, entityKey: event.entityKey, aggregate: nil, expectedVersion: nil,
                    commands: [
                        NewCommand(
                            target: "odoo", entityKey: EntityKey("k1"), idempotencyKey: IdempotencyKey("c1"),
                            payload: .upsertCustomer(customer))
                    ], status: .done, outcome: "applied", traceID: event.traceID)
            ], owner: "p", now: t0)
        return store
    }

    /// Node a's dispatcher delivering the one command with `connector` under `lease`.
    static func startDelivery(store: SQLiteStore, connector: any TargetConnector, lease: Duration) -> Task<Int, any Error> {
        var configuration = DeliveryConfiguration()
        configuration.lease = lease
        let dispatcher = DispatcherService(
            target: "odoo", connector: connector, store: store, configuration: configuration, commands: Doorbell(),
            nodeID: "node-a", logger: Logger(label: "weft.test"))
        return Task { try await dispatcher.runOnce(owner: "node-a/odoo") }
    }

    @Test func aDeliveryLongerThanItsLeaseKeepsItsClaim() async throws {
        let store = try await Self.storeWithOneCommand()

        let connector = HeldConnector()
        // Long enough that the renewal (after a third of it) is not late on a loaded CI machine: a renewal that comes
        // after the lease ran out rightly stops the delivery, and a 300 ms lease made that a matter of luck.
        let delivery = Self.startDelivery(store: store, connector: connector, lease: .seconds(3))
        var started = connector.started.stream.makeAsyncIterator()
        await started.next()
        // The first lease ran until claim time + 3 s. Wait until that instant has passed (the dispatcher renewed the
        // lease after 1 s and 2 s), then check that another dispatcher cannot claim the command.
        let firstLeaseEnd = Date().addingTimeInterval(3)
        let deadline = ContinuousClock.now + .seconds(30)
        var renewed = false
        while ContinuousClock.now < deadline && !renewed {
            try await Task.sleep(for: .milliseconds(20))
            let listed = try await store.listCommands(filter: CommandFilter(), limit: 1)
            renewed = listed.first?.status == .inFlight && Date() > firstLeaseEnd.addingTimeInterval(0.1)
        }
        #expect(renewed)
        let stolen = try await store.claimCommands(
            target: "odoo", limit: 10, owner: "node-b/odoo", lease: .seconds(60), now: Date())
        #expect(stolen.isEmpty, "another node claimed a command still being delivered")
        connector.release.continuation.yield()
        #expect(try await delivery.value == 1)
        #expect(connector.calls.withLock { $0 } == 1)
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 1).first?.status == .delivered)
    }

    /// Waits until cancelled, then answers as a cancelled HTTP call would.
    final class CancellableConnector: TargetConnector {
        let started = AsyncStream<Void>.makeStream()
        let cancelled = Mutex(false)
        var maxBatchSize: Int { 10 }

        func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
            started.continuation.yield()
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            await withTaskCancellationHandler {
                for await _ in stream { break }
            } onCancel: {
                continuation.finish()
            }
            cancelled.withLock { $0 = Task.isCancelled }
            return batch.map { _ in .retry(DeliveryFailure(kind: .transport, message: "cancelled")) }
        }
    }

    /// A node whose command was taken over by another node (its lease had lapsed) stops sending it at its next
    /// renewal, and records nothing over the new owner's claim.
    @Test func aDeliveryWhoseLeaseWasTakenIsStopped() async throws {
        let store = try await Self.storeWithOneCommand()

        let connector = CancellableConnector()
        let delivery = Self.startDelivery(store: store, connector: connector, lease: .milliseconds(600))
        var started = connector.started.stream.makeAsyncIterator()
        await started.next()
        // Another node, whose clock says node a's lease is over, takes the command.
        let taken = try await store.claimCommands(
            target: "odoo", limit: 10, owner: "node-b/odoo", lease: .seconds(60), now: Date().addingTimeInterval(5))
        #expect(taken.count == 1)
        // Node a's next renewal finds the lease gone and cancels its delivery.
        #expect(try await delivery.value == 1)
        #expect(connector.cancelled.withLock { $0 })
        let listed = try #require(try await store.listCommands(filter: CommandFilter(), limit: 1).first)
        #expect(listed.status == .inFlight)
        #expect(listed.lastError == nil, "node a's outcome must not be recorded over node b's claim")
        #expect(listed.command.attempts == 2)
    }
}

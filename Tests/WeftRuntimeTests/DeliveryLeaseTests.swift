import Foundation
import GRDB
import Logging
import Synchronization
import Testing
import WeftCore
import WeftRuntime

@testable import WeftStoreSQLite

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
    static func storeWithOneCommand(configuration: SQLiteStore.Configuration = .init()) async throws -> SQLiteStore {
        let customer = Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: "cus_1"), name: "Ada")
        return try await store(
            holding: [
                NewCommand(
                    target: "odoo", entityKey: EntityKey("k1"), idempotencyKey: IdempotencyKey("c1"),
                    payload: .upsertCustomer(customer))
            ], configuration: configuration)
    }

    /// A store holding `commands`, pending, as the pipeline leaves them (made at `t0`).
    static func store(
        holding commands: [NewCommand], configuration: SQLiteStore.Configuration = .init(), madeAt t0: Date = Date()
    ) async throws -> SQLiteStore {
        let store = try SQLiteStore.temporary(configuration: configuration, logger: Logger(label: "weft.test"))
        _ = try await store.append([
            IncomingEvent(
                system: "stripe", eventID: SourceEventID("evt_1"), type: "customer.created", entityKey: EntityKey("k1"),
                occurredAt: t0, receivedAt: t0, payload: Data("{}".utf8), traceID: TraceID("t1"))
        ])
        let event = try #require(try await store.claimEvents(limit: 1, owner: "p", lease: .seconds(60), now: t0).first)
        try await store.commitProcessed(
            [
                ProcessedEvent(
                    seq: event.seq, entityKey: event.entityKey, aggregate: nil, expectedVersion: nil, commands: commands,
                    status: .done, outcome: "applied", traceID: event.traceID)
            ], owner: "p", now: t0)
        return store
    }

    /// A clock that moves only when the test moves it. Each wait registers itself and is announced on `waits`, so
    /// the test knows when the dispatcher's renewal task has done its work and is waiting again.
    final class ManualClock: DeliveryClock {
        struct Sleeper {
            let until: Date
            let continuation: CheckedContinuation<Void, any Error>
        }
        struct State {
            var now: Date
            var sleepers: [Int: Sleeper] = [:]
            var nextID = 0
        }
        let state: Mutex<State>
        /// Each wait's duration, as it begins.
        let waits = AsyncStream<Duration>.makeStream()

        init(start: Date) { state = Mutex(State(now: start)) }

        func now() -> Date { state.withLock { $0.now } }

        func sleep(for duration: Duration) async throws {
            let id = state.withLock { state -> Int in
                state.nextID += 1
                return state.nextID
            }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let cancelled = state.withLock { state -> Bool in
                        if Task.isCancelled { return true }
                        state.sleepers[id] = Sleeper(
                            until: state.now.addingTimeInterval(duration.timeInterval), continuation: continuation)
                        return false
                    }
                    if cancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        waits.continuation.yield(duration)
                    }
                }
            } onCancel: {
                state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
            }
        }

        /// Moves the clock on and wakes every wait that is over.
        func advance(by duration: Duration) {
            let due = state.withLock { state -> [Sleeper] in
                state.now = state.now.addingTimeInterval(duration.timeInterval)
                let now = state.now
                let due = state.sleepers.filter { $0.value.until <= now }
                for key in due.keys { state.sleepers.removeValue(forKey: key) }
                return Array(due.values)
            }
            for sleeper in due { sleeper.continuation.resume() }
        }
    }

    /// Node a's dispatcher delivering the one command with `connector` under `lease`, on `clock`.
    static func startDelivery(
        store: SQLiteStore, connector: any TargetConnector, lease: Duration, clock: ManualClock
    ) -> Task<Int, any Error> {
        var configuration = DeliveryConfiguration()
        configuration.lease = lease
        let dispatcher = DispatcherService(
            target: "odoo", connector: connector, store: store, configuration: configuration, commands: Doorbell(),
            nodeID: "node-a", logger: Logger(label: "weft.test"), clock: clock)
        return Task { try await dispatcher.runOnce(owner: "node-a/odoo") }
    }

    @Test func aDeliveryLongerThanItsLeaseKeepsItsClaim() async throws {
        let store = try await Self.storeWithOneCommand()
        let clock = ManualClock(start: Date())
        let claimedAt = clock.now()

        let connector = HeldConnector()
        let delivery = Self.startDelivery(store: store, connector: connector, lease: .seconds(3), clock: clock)
        var started = connector.started.stream.makeAsyncIterator()
        await started.next()
        // The first lease runs until claimedAt + 3 s. The renewal task waits a third of the lease between renewals:
        // each time it waits a second again, the renewal before has been written. (While a renewal is on its way its
        // deadline is waited for beside it, 1.5 s: those waits are passed over.)
        var waits = clock.waits.stream.makeAsyncIterator()
        _ = await waits.next()
        for _ in 0..<3 {
            clock.advance(by: .seconds(1))
            while let wait = await waits.next(), wait != .seconds(1) {}
        }
        // Renewed until claimedAt + 6 s; half a second past the first lease's end, no wait is over.
        clock.advance(by: .milliseconds(500))
        #expect(clock.now() > claimedAt.addingTimeInterval(3))
        // The first lease is over; the renewed one is not, so another node cannot claim the command.
        let stolen = try await store.claimCommands(
            target: "odoo", limit: 10, owner: "node-b/odoo", lease: .seconds(60), now: clock.now())
        #expect(stolen.isEmpty, "another node claimed a command still being delivered")
        // Nor can a node whose clock says 5.9 s: only the third renewal (at 3 s) holds the command that long.
        let later = try await store.claimCommands(
            target: "odoo", limit: 10, owner: "node-b/odoo", lease: .seconds(60), now: claimedAt.addingTimeInterval(5.9))
        #expect(later.isEmpty, "the third renewal was not written")
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 1).first?.status == .inFlight)
        connector.release.continuation.yield()
        #expect(try await delivery.value == 1)
        #expect(connector.calls.withLock { $0 } == 1)
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 1).first?.status == .delivered)
    }

    /// Makes the store refuse to record a delivered command (any write setting status 2 aborts), from another
    /// connection, until `allow` drops the trigger.
    struct RefusedRecording {
        let admin: DatabaseQueue

        init(_ store: SQLiteStore) async throws {
            admin = try DatabaseQueue(path: store.path)
            try await admin.write { db in
                try db.execute(
                    sql: """
                        CREATE TRIGGER refuse_delivered BEFORE UPDATE OF status ON commands WHEN NEW.status = 2
                        BEGIN SELECT RAISE(ABORT, 'injected failure'); END
                        """)
            }
        }

        func allow() async throws { try await admin.write { try $0.execute(sql: "DROP TRIGGER refuse_delivered") } }
    }

    /// The outcomes of a delivered batch that the store fails to record (a write error, a deadlock) are recorded on a
    /// later try: not left claimed until the lease runs out, to be sent again, nor left half-done by a graceful stop.
    @Test(.timeLimit(.minutes(1))) func outcomesTheStoreFailedToRecordAreRecordedOnALaterTry() async throws {
        let store = try await Self.storeWithOneCommand()
        let refused = try await RefusedRecording(store)
        let clock = ManualClock(start: Date())
        let connector = HeldConnector()
        let delivery = Self.startDelivery(store: store, connector: connector, lease: .seconds(30), clock: clock)
        var waits = clock.waits.stream.makeAsyncIterator()
        connector.release.continuation.yield()
        // The renewal task's waits (10 s) are passed over; a wait of 200 ms is the recording's pause before its
        // second try.
        while let wait = await waits.next(), wait != .milliseconds(200) {}
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 1).first?.status == .inFlight)
        try await refused.allow()
        clock.advance(by: .milliseconds(200))
        #expect(try await delivery.value == 1)
        #expect(connector.calls.withLock { $0 } == 1)
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 1).first?.status == .delivered)
    }

    /// A store that keeps failing is given up after five tries, three seconds: the loop reports the error and the
    /// command stays claimed, to be delivered again once its lease runs out.
    @Test(.timeLimit(.minutes(1))) func aRecordingTheStoreKeepsRefusingIsGivenUpAfterFiveTries() async throws {
        let store = try await Self.storeWithOneCommand()
        _ = try await RefusedRecording(store)
        let clock = ManualClock(start: Date())
        let connector = HeldConnector()
        let delivery = Self.startDelivery(store: store, connector: connector, lease: .seconds(30), clock: clock)
        var waits = clock.waits.stream.makeAsyncIterator()
        connector.release.continuation.yield()
        var pauses: [Duration] = []
        while pauses.count < 4, let wait = await waits.next() {
            guard wait < .seconds(5) else { continue }  // the renewal task's 10 s
            pauses.append(wait)
            clock.advance(by: wait)
        }
        #expect(pauses == [.milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600)])
        await #expect(throws: SQLiteStoreError.self) { try await delivery.value }
        #expect(connector.calls.withLock { $0 } == 1)
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 1).first?.status == .inFlight)
    }

    /// Waits until cancelled, then answers as a cancelled HTTP call would.
    final class CancellableConnector: TargetConnector {
        let started = AsyncStream<Void>.makeStream()
        let cancelled = Mutex(false)
        /// Announces that the delivery ended.
        let stopped = AsyncStream<Void>.makeStream()
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
            stopped.continuation.yield()
            return batch.map { _ in .retry(DeliveryFailure(kind: .transport, message: "cancelled")) }
        }
    }

    /// A node whose command was taken over by another node (its lease had lapsed) stops sending it at its next
    /// renewal, and records nothing over the new owner's claim.
    @Test func aDeliveryWhoseLeaseWasTakenIsStopped() async throws {
        let store = try await Self.storeWithOneCommand()

        let clock = ManualClock(start: Date())
        let connector = CancellableConnector()
        let delivery = Self.startDelivery(store: store, connector: connector, lease: .milliseconds(600), clock: clock)
        var started = connector.started.stream.makeAsyncIterator()
        await started.next()
        var waits = clock.waits.stream.makeAsyncIterator()
        _ = await waits.next()
        // Another node, whose clock says node a's lease is over, takes the command.
        let taken = try await store.claimCommands(
            target: "odoo", limit: 10, owner: "node-b/odoo", lease: .seconds(60), now: clock.now().addingTimeInterval(5))
        #expect(taken.count == 1)
        // Node a's next renewal finds the lease gone and cancels its delivery.
        clock.advance(by: .milliseconds(200))
        #expect(try await delivery.value == 1)
        #expect(connector.cancelled.withLock { $0 })
        let listed = try #require(try await store.listCommands(filter: CommandFilter(), limit: 1).first)
        #expect(listed.status == .inFlight)
        #expect(listed.lastError == nil, "node a's outcome must not be recorded over node b's claim")
        #expect(listed.command.attempts == 2)
    }

    /// A renewal the store does not answer (another connection holds the database's write lock, and the store waits
    /// for it far longer than the lease) is given up at the deadline: the delivery stops before another node may
    /// claim the command, instead of sending on until the store answers.
    @Test(.timeLimit(.minutes(1))) func aRenewalTheStoreDoesNotAnswerStopsTheDeliveryAtItsDeadline() async throws {
        let store = try await Self.storeWithOneCommand(configuration: .init(busyTimeout: .seconds(3600)))
        let clock = ManualClock(start: Date())
        let connector = CancellableConnector()
        let delivery = Self.startDelivery(store: store, connector: connector, lease: .seconds(3), clock: clock)
        var started = connector.started.stream.makeAsyncIterator()
        await started.next()
        var waits = clock.waits.stream.makeAsyncIterator()
        _ = await waits.next()
        var locking = GRDB.Configuration()
        locking.allowsUnsafeTransactions = true
        let blocker = try DatabaseQueue(path: store.path, configuration: locking)
        try await blocker.writeWithoutTransaction { try $0.execute(sql: "BEGIN IMMEDIATE") }
        // The renewal is due after a second; it waits for the lock, and the deadline (half a second before the lease
        // ends, 2.5 s after the claim) is waited for beside it.
        clock.advance(by: .seconds(1))
        _ = await waits.next()
        clock.advance(by: .milliseconds(1500))
        var stopped = connector.stopped.stream.makeAsyncIterator()
        await stopped.next()
        #expect(connector.cancelled.withLock { $0 })
        try await blocker.writeWithoutTransaction { try $0.execute(sql: "COMMIT") }
        #expect(try await delivery.value == 1)
        let listed = try #require(try await store.listCommands(filter: CommandFilter(), limit: 1).first)
        // The connector's own answer to the cancellation is what it says of the target, so that is recorded.
        #expect(listed.status != .delivered)
        #expect(listed.lastError == "transport: cancelled", "\(listed.lastError ?? "no error")")
    }
}

@Suite("Lease schedule")
struct LeaseScheduleTests {
    /// Every renewal fails: the delivery stops when a sixth of the lease is left, before another node can claim.
    @Test func failingRenewalsStopTheDeliveryBeforeTheLeaseRunsOut() {
        let claimedAt = Date(timeIntervalSince1970: 1_000)
        var schedule = LeaseSchedule(lease: .seconds(6), claimedAt: claimedAt)
        var wakes: [TimeInterval] = []
        var now = claimedAt
        while !schedule.mustStop(at: now) {
            now = schedule.wake
            wakes.append(now.timeIntervalSince(claimedAt))
            guard !schedule.mustStop(at: now) else { break }
            schedule.renewalFailed(at: now)
        }
        #expect(wakes == [2, 2.5, 3, 3.5, 4, 4.5, 5])
        #expect(now.timeIntervalSince(claimedAt) == 5)
        #expect(now < claimedAt.addingTimeInterval(6))
    }

    @Test func aRenewalHoldsTheCommandsAWholeLeaseFromWhenItWasAsked() {
        let claimedAt = Date(timeIntervalSince1970: 1_000)
        var schedule = LeaseSchedule(lease: .seconds(6), claimedAt: claimedAt)
        #expect(schedule.wake == claimedAt.addingTimeInterval(2))
        schedule.renewed(askedAt: claimedAt.addingTimeInterval(2))
        #expect(schedule.heldUntil == claimedAt.addingTimeInterval(8))
        #expect(schedule.wake == claimedAt.addingTimeInterval(4))
        #expect(!schedule.mustStop(at: claimedAt.addingTimeInterval(6.5)))
        #expect(schedule.mustStop(at: claimedAt.addingTimeInterval(7)))
    }
}

@Suite("Breaker probe")
struct BreakerProbeTests {
    final class DownConnector: TargetConnector {
        let sent = Mutex(0)
        var maxBatchSize: Int { 50 }

        func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
            sent.withLock { $0 += batch.count }
            return batch.map { _ in .retry(DeliveryFailure(kind: .transport, message: "connection refused")) }
        }
    }

    /// The half-open breaker's probe sends one command: probing a target that is still down spends one attempt, not
    /// one of each command of a batch.
    @Test func aProbeSpendsTheAttemptOfOneCommandOnly() async throws {
        let store = try await DeliveryLeaseTests.store(
            holding: (1...3).map { index in
                NewCommand(
                    target: "odoo", entityKey: EntityKey("k\(index)"), idempotencyKey: IdempotencyKey("c\(index)"),
                    payload: .upsertCustomer(Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: "cus_\(index)"))))
            })
        let connector = DownConnector()
        let dispatcher = DispatcherService(
            target: "odoo", connector: connector, store: store, configuration: DeliveryConfiguration(),
            commands: Doorbell(), nodeID: "node-a", logger: Logger(label: "weft.test"),
            // Time stands still (after the commands were written): the probed command's retry is not due when the
            // next batch is claimed.
            clock: DeliveryLeaseTests.ManualClock(start: Date()))
        #expect(try await dispatcher.runOnce(owner: "node-a/odoo", probing: true) == 1)
        #expect(connector.sent.withLock { $0 } == 1)
        let attempts = try await store.listCommands(filter: CommandFilter(), limit: 10).map(\.command.attempts)
        #expect(attempts.sorted() == [0, 0, 1])
        // Not probing, a batch takes what is due: the two commands not tried yet.
        #expect(try await dispatcher.runOnce(owner: "node-a/odoo") == 2)
    }
}

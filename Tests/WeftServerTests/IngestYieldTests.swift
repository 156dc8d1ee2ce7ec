import Foundation
import Logging
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftStoreSQLite
import WeftTools

/// While webhooks arrive, the pipeline's workers after the first stand back (`pipeline.ingest_yield_ms`): the
/// acknowledgements and the first worker share the CPU during a burst, every worker drains the backlog after it, or
/// joins in as soon as the first runs behind.
@Suite("Pipeline: helper workers stand back while webhooks arrive")
struct IngestYieldTests {
    /// A monotonic clock the test sets, telling `reads` each time it is read.
    final class ManualClock: Sendable {
        let nanos = Mutex<UInt64>(0)
        let reads: AsyncStream<Void>.Continuation?
        init(reads: AsyncStream<Void>.Continuation? = nil) { self.reads = reads }
        func set(_ value: UInt64) { nanos.withLock { $0 = value } }
        func read() -> UInt64 {
            reads?.yield()
            return nanos.withLock { $0 }
        }
    }

    @Test func aDeliveryAsksHelpersToWaitOutTheRestOfTheWindow() {
        let clock = ManualClock()
        let ingest = IngestActivity(clock: { clock.read() })
        #expect(ingest.pause(window: .milliseconds(50)) == nil)
        clock.set(1_000_000_000)
        ingest.noteDelivery()
        #expect(ingest.pause(window: .milliseconds(50)) == .milliseconds(50))
        clock.set(1_030_000_000)
        #expect(ingest.pause(window: .milliseconds(50)) == .milliseconds(20))
        clock.set(1_050_000_000)
        #expect(ingest.pause(window: .milliseconds(50)) == nil)
        // Turned off.
        clock.set(1_000_000_000)
        #expect(ingest.pause(window: .zero) == nil)
        // Another thread noted a delivery after this one read its clock: that delivery is "just now".
        clock.set(2_000_000_000)
        ingest.noteDelivery()
        clock.set(1_999_000_000)
        #expect(ingest.pause(window: .milliseconds(50)) == .milliseconds(50))
        // A clock that reads 0 (a machine just started) still records the delivery.
        let early = IngestActivity(clock: { 0 })
        early.noteDelivery()
        #expect(early.pause(window: .milliseconds(5)) == .milliseconds(5))
    }

    /// The first member of a pool tells its helpers whether it runs behind; while it does they never wait.
    @Test func helpersStandBackWhileWebhooksArriveUntilTheFirstRunsBehind() {
        let ingest = IngestActivity(clock: { 7_000_000_000 })
        let yield = HelperYield(ingest: ingest, window: .milliseconds(50))
        #expect(yield.pause() == nil)
        ingest.noteDelivery()
        #expect(yield.pause() == .milliseconds(50))
        let now = Date()
        // The oldest item the first claimed had waited 3 s: the helpers join in though webhooks still arrive.
        yield.firstClaimed(oldest: now.addingTimeInterval(-3), at: now)
        #expect(yield.pause() == nil)
        // Caught up (1 s, then exactly the 2 s allowed), or nothing claimed: they stand back again.
        yield.firstClaimed(oldest: now.addingTimeInterval(-1), at: now)
        #expect(yield.pause() == .milliseconds(50))
        yield.firstClaimed(oldest: now.addingTimeInterval(-3), at: now)
        yield.firstClaimed(oldest: now.addingTimeInterval(-2), at: now)
        #expect(yield.pause() == .milliseconds(50))
        yield.firstClaimed(oldest: now.addingTimeInterval(-3), at: now)
        yield.firstClaimed(oldest: nil, at: now)
        #expect(yield.pause() == .milliseconds(50))
        // A zero window: never.
        #expect(HelperYield(ingest: ingest, window: .zero).pause() == nil)
    }

    /// With webhooks arriving (the clock held inside the window), the first worker processes a backlog and the second
    /// never claims, though it looked several times; once they stop (the clock moved past the window), it claims.
    @Test func theSecondWorkerClaimsOnlyOnceWebhooksStop() async throws {
        let base = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        _ = try await PipelineRunTests.backlog(base, prefix: "Y")
        let (reads, readsContinuation) = AsyncStream<Void>.makeStream()
        let clock = ManualClock(reads: readsContinuation)
        clock.set(5_000_000_000)
        let ingest = IngestActivity(clock: { clock.read() })
        ingest.noteDelivery()
        let (claims, claimsContinuation) = AsyncStream<String>.makeStream()
        let (commits, commitsContinuation) = AsyncStream<Void>.makeStream()
        var store = InterceptingAppendStore.passing(base: base)
        store.onClaim = { claimsContinuation.yield($0) }
        let service = PipelineService(
            store: store,
            processor: PipelineRunTests.stripeToOdoo(),
            configuration: PipelineConfiguration(workers: 2, ingestYield: .milliseconds(5)), events: Doorbell(),
            commands: Doorbell(), nodeID: "y", logger: Logger(label: "test.pipeline"), ingest: ingest,
            // However slowly this machine runs the test, the first worker is never behind (that is the next test).
            helperMaxLag: .seconds(3600),
            commits: CommitObserver(willCommit: { _ in }, didCommit: { _, _ in commitsContinuation.yield() }))
        let running = Task { try await service.run() }
        defer { running.cancel() }

        let outcome = try await Self.within(.seconds(30)) {
            // The second worker looks at the clock before each claim; three looks (with waits between) while the first
            // worker claims and processes the backlog.
            var looks = 0
            for await _ in reads {
                looks += 1
                if looks == 3 { break }
            }
            var done = 0
            for await _ in commits {
                done = try await base.listEvents(status: .done, limit: 10).count
                if done == 4 { break }
            }
            return done
        }
        #expect(outcome == 4)
        clock.set(6_000_000_000)
        let claimed = try await Self.within(.seconds(30)) {
            var owners: [String] = []
            for await owner in claims {
                owners.append(owner)
                if owner == "y/pipeline/1" { break }
            }
            return owners
        }
        let owners = try #require(claimed)
        // Every claim before the clock moved was the first worker's; then the second claimed.
        let beforeMoving = owners.dropLast()
        #expect(!beforeMoving.isEmpty && beforeMoving.allSatisfy { $0 == "y/pipeline/0" }, "\(owners)")
        #expect(owners.last == "y/pipeline/1")
    }

    /// Webhooks still arriving, but the backlog the first worker claims arrived an hour ago: the second worker claims
    /// while the first's commit is held (without the first worker's lag it would stand back for as long as webhooks
    /// arrive, and never claim).
    @Test func theSecondWorkerJoinsOnceTheFirstRunsBehind() async throws {
        let base = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        _ = try await PipelineRunTests.backlog(base, prefix: "YL", receivedAt: Date().addingTimeInterval(-3600))
        let ingest = IngestActivity(clock: { 5_000_000_000 })
        ingest.noteDelivery()
        let (claims, claimsContinuation) = AsyncStream<String>.makeStream()
        let (held, holdContinuation) = AsyncStream<Void>.makeStream()
        var store = InterceptingAppendStore.passing(base: base)
        store.onClaim = { claimsContinuation.yield($0) }
        store.beforeCommit = { for await _ in held { break } }
        let service = PipelineService(
            store: store, processor: PipelineRunTests.stripeToOdoo(),
            configuration: PipelineConfiguration(workers: 2, ingestYield: .milliseconds(5)), events: Doorbell(),
            commands: Doorbell(), nodeID: "y", logger: Logger(label: "test.pipeline"), ingest: ingest)
        let running = Task { try await service.run() }
        defer {
            holdContinuation.finish()
            running.cancel()
        }
        let joined = try await Self.within(.seconds(30)) {
            for await owner in claims where owner == "y/pipeline/1" { return true }
            return false
        }
        #expect(joined == true)
    }

    /// A webhook delivered to a node is noted for its pipeline.
    @Test func aNodeNotesEachWebhookForItsPipeline() async throws {
        try await TestNode.with { node in
            #expect(node.node.ingestActivity.pause(window: .seconds(3600)) == nil)
            let event = StripeEventFactory(prefix: "Y2").customerCreated("cus_Y2", name: "A", email: "a@x.test", at: 1_750_000_000)
            #expect(await node.send([event]).accepted == 1)
            #expect(node.node.ingestActivity.pause(window: .seconds(3600)) != nil)
        }
    }

    /// `body`'s result, or a recorded failure and `nil` when it takes longer than `limit` (it is then cancelled).
    static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                Issue.record("did not happen within \(limit)")
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

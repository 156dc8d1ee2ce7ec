import Foundation
import Logging
import Synchronization
import Testing
import WeftCore
import WeftRuntime

/// While webhooks arrive, a target's delivery loops after the first stand back (`delivery.ingest_yield_ms`), unless the
/// first runs behind: then they join in, so a target slow to answer is not left to one loop while webhooks keep coming.
@Suite("Delivery: helper loops stand back while webhooks arrive, until the first runs behind", .timeLimit(.minutes(1)))
struct DeliveryYieldTests {
    /// Holds every delivery of one command until the test lets them all go; tells each start.
    final class HeldConnector: TargetConnector {
        let started = AsyncStream<Void>.makeStream()
        let release = Mutex<[CheckedContinuation<Void, Never>]>([])
        let released = Mutex(false)
        var maxBatchSize: Int { 1 }

        func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
            started.continuation.yield()
            await withCheckedContinuation { continuation in
                let now = released.withLock { $0 }
                if now { continuation.resume() } else { release.withLock { $0.append(continuation) } }
            }
            return batch.map { _ in .delivered(record: TargetRecordID(model: "res.partner", id: "1")) }
        }

        func letGo() {
            released.withLock { $0 = true }
            for waiting in release.withLock({ list in
                defer { list.removeAll() }; return list
            }) { waiting.resume() }
        }
    }

    /// Two commands of two customers, made at `madeAt`, pending for `odoo`.
    static func twoCommands(madeAt: Date) async throws -> any Store {
        let commands = ["cus_1", "cus_2"].map { id in
            NewCommand(
                target: "odoo", entityKey: EntityKey("stripe/customer/\(id)"), idempotencyKey: IdempotencyKey("c-\(id)"),
                payload: .upsertCustomer(Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: id), name: id)))
        }
        return try await DeliveryLeaseTests.store(holding: commands, madeAt: madeAt)
    }

    /// Two loops of one target with webhooks noted at the `ingest` clock's reading, standing back 5 ms after each until
    /// the first runs `maxLag` behind.
    static func dispatcher(
        _ store: any Store, _ connector: HeldConnector, ingest: IngestActivity, maxLag: Duration = HelperYield.defaultMaxLag
    ) -> DispatcherService {
        DispatcherService(
            target: "odoo", connector: connector, store: store,
            configuration: DeliveryConfiguration(concurrency: 2, ingestYield: .milliseconds(5)), commands: Doorbell(),
            nodeID: "n", logger: Logger(label: "weft.test"), ingest: ingest, helperMaxLag: maxLag)
    }

    /// Commands just made, webhooks arriving: the first loop delivers one while the second looks at the clock again and
    /// again without claiming; once the webhooks stop, the second delivers the other.
    @Test func theSecondLoopWaitsWhileTheFirstKeepsUp() async throws {
        let store = try await Self.twoCommands(madeAt: Date())
        let (reads, looked) = AsyncStream<Void>.makeStream()
        let nanos = Mutex<UInt64>(5_000_000_000)
        let ingest = IngestActivity(clock: {
            looked.yield()
            return nanos.withLock { $0 }
        })
        ingest.noteDelivery()
        let connector = HeldConnector()
        // However slowly this machine runs the test, the first loop is never behind (that is the next test).
        let running = Task { try await Self.dispatcher(store, connector, ingest: ingest, maxLag: .seconds(3600)).run() }
        defer {
            connector.letGo()
            running.cancel()
        }
        var started = connector.started.stream.makeAsyncIterator()
        await started.next()
        var looks = reads.makeAsyncIterator()
        for _ in 0..<4 { await looks.next() }
        let inFlight = try await store.listCommands(filter: CommandFilter(), limit: 10).filter { $0.status == .inFlight }
        #expect(inFlight.count == 1, "the second loop claimed while webhooks arrived and the first kept up")
        // Webhooks stopped: the second loop claims and delivers the other command (a hang here fails the time limit).
        nanos.withLock { $0 = 6_000_000_000 }
        await started.next()
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 10).filter { $0.status == .inFlight }.count == 2)
    }

    /// Commands made an hour ago, webhooks still arriving: the first loop's claim shows it behind, and the second loop
    /// delivers the other command while the first's is still on its way.
    @Test func theSecondLoopJoinsOnceTheFirstRunsBehind() async throws {
        let store = try await Self.twoCommands(madeAt: Date().addingTimeInterval(-3600))
        let ingest = IngestActivity(clock: { 5_000_000_000 })
        ingest.noteDelivery()
        let connector = HeldConnector()
        let running = Task { try await Self.dispatcher(store, connector, ingest: ingest).run() }
        defer {
            connector.letGo()
            running.cancel()
        }
        // Both deliveries start while neither is let go (without the first loop's lag the second would stand back for
        // as long as webhooks arrive, and this would hang until the time limit fails it).
        var started = connector.started.stream.makeAsyncIterator()
        await started.next()
        await started.next()
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 10).filter { $0.status == .inFlight }.count == 2)
    }
}

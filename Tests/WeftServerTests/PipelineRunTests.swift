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

/// A pipeline worker over a real SQLite store takes a backlog of one customer as a run: one claim, one routing, the
/// commands of the final state, and what derives from the aggregate told its last state once.
@Suite("Pipeline: runs of one entity's events")
struct PipelineRunTests {
    final class Told: Sendable {
        let calls = Mutex<[[(key: EntityKey, version: Int64)]]>([])
    }

    /// The processor of a Stripe → Odoo flow with no ownership rules.
    static func stripeToOdoo() -> PipelineProcessor {
        PipelineProcessor(
            governor: Governor(ownership: OwnershipRules()),
            router: CommandRouter(flows: [Flow(name: "f", source: "stripe", target: "odoo")], ownership: OwnershipRules()),
            decoders: ["stripe": StripeDecoder()])
    }

    static func service(
        _ store: any Store, eventsPerEntity: Int, batchSize: Int = 128, cacheRecords: Int = AggregateCache.defaultRecordCapacity,
        told: Told
    ) -> PipelineService {
        PipelineService(
            store: store,
            processor: PipelineRunTests.stripeToOdoo(),
            configuration: PipelineConfiguration(batchSize: batchSize, eventsPerEntity: eventsPerEntity, cacheRecords: cacheRecords),
            events: Doorbell(),
            commands: Doorbell(),
            nodeID: "test", logger: Logger(label: "test.pipeline"),
            commits: CommitObserver(
                willCommit: { _ in },
                didCommit: { changed, _ in
                    if !changed.isEmpty { told.calls.withLock { $0.append(changed.map { ($0.key, $0.aggregate.version) }) } }
                }))
    }

    /// The first customer's story (created, invoice finalized, paid) and the second's first event, as stored.
    static func backlog(_ store: any Store, prefix: String, receivedAt: Date = Date()) async throws -> [EntityKey] {
        let story = StripeEventFactory(prefix: prefix).story(customers: 2)
        let events =
            story.events.filter { $0.customer.hasSuffix("0") }.prefix(3) + story.events.filter { $0.customer.hasSuffix("1") }.prefix(1)
        var keys: [EntityKey] = []
        for event in events {
            let incoming = try StripeEventEnvelope.parse(event.body, system: "stripe").incomingEvent(
                system: "stripe", payload: event.body, receivedAt: receivedAt, traceID: TraceID("t"))
            _ = try await store.append([incoming])
            if !keys.contains(incoming.entityKey) { keys.append(incoming.entityKey) }
        }
        return keys
    }

    @Test func aBacklogOfOneCustomerIsOneRunRoutedOnce() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        let keys = try await Self.backlog(store, prefix: "R")
        let told = Told()
        #expect(try await Self.service(store, eventsPerEntity: 8, told: told).runOnce(owner: "w") == 4)
        #expect(try await store.listEvents(status: .done, limit: 10).count == 4)
        // Told once, with each entity's last state: three saves of the first customer, one of the second.
        let calls = told.calls.withLock { $0 }
        #expect(calls.count == 1)
        #expect(calls.first?.map(\.key) == keys && calls.first?.map(\.version) == [3, 1])
        // The commands of the final state: the partner, the paid invoice, its payment — not the open invoice first.
        let commands = try await store.listCommands(filter: CommandFilter(entityKey: keys[0]), limit: 20)
        #expect(commands.map(\.command.payload.kind).sorted() == ["register_payment", "upsert_customer", "upsert_invoice"])
        guard let invoice = commands.first(where: { $0.command.payload.kind == "upsert_invoice" }),
            case .upsertInvoice(let upsert) = invoice.command.payload
        else {
            Issue.record("no invoice command: \(commands)")
            return
        }
        #expect(upsert.invoice.status == .paid)
    }

    /// A batch commits in transactions of at most `batchSize` results; when a later one fails, what the earlier ones
    /// committed is still passed on (the entitlement index must not miss a committed state), what did not commit is
    /// given back to pending at once (not left claimed until its lease runs out), then the failure thrown.
    @Test func aFailedLaterTransactionStillPassesOnWhatCommitted() async throws {
        var store = InterceptingAppendStore.passing(base: try SQLiteStore.temporary(logger: Logger(label: "test.store")))
        store.failCommitsFrom = 2
        let keys = try await Self.backlog(store, prefix: "T")
        let told = Told()
        let service = Self.service(store, eventsPerEntity: 8, batchSize: 2, told: told)
        await #expect(throws: InterceptingAppendStore.Unavailable.self) { try await service.runOnce(owner: "w") }
        // Two heads and two following events of the first customer: the first transaction took the first customer's
        // first two events, the second (which failed) the rest.
        #expect(try await store.listEvents(status: .done, limit: 10).count == 2)
        #expect(try await store.listEvents(status: .processing, limit: 10).isEmpty)
        #expect(try await store.listEvents(status: .pending, limit: 10).count == 2)
        #expect(told.calls.withLock { $0.map { $0.map(\.key) } } == [[keys[0]]])
        #expect(told.calls.withLock { $0.first?.first?.version } == 2)
    }

    /// A store that commits a chunk in several transactions and fails after some committed (`PartialCommitError`):
    /// the pipeline treats what committed as committed (told, cached) and gives the rest back, as above.
    @Test func aCommitThatFailsPartWayStillPassesOnWhatCommitted() async throws {
        var store = InterceptingAppendStore.passing(base: try SQLiteStore.temporary(logger: Logger(label: "test.store")))
        store.partialCommitAfter = 3
        let keys = try await Self.backlog(store, prefix: "P")
        let told = Told()
        let service = Self.service(store, eventsPerEntity: 8, told: told)
        await #expect(throws: InterceptingAppendStore.Unavailable.self) { try await service.runOnce(owner: "w") }
        // The first customer's run of three committed; the second customer's event went back to pending.
        #expect(try await store.listEvents(status: .done, limit: 10).count == 3)
        #expect(try await store.listEvents(status: .processing, limit: 10).isEmpty)
        #expect(try await store.listEvents(status: .pending, limit: 10).map(\.entityKey) == [keys[1]])
        #expect(told.calls.withLock { $0.map { $0.map(\.key) } } == [[keys[0]]])
        #expect(told.calls.withLock { $0.first?.first?.version } == 3)
    }

    @Test func oneEventPerEntityTakesTheBacklogOneEventAtATime() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        let keys = try await Self.backlog(store, prefix: "S")
        let told = Told()
        let service = Self.service(store, eventsPerEntity: 1, told: told)
        #expect(try await service.runOnce(owner: "w") == 2)
        #expect(try await service.runOnce(owner: "w") == 1)
        #expect(try await service.runOnce(owner: "w") == 1)
        #expect(try await service.runOnce(owner: "w") == 0)
        // Event by event: the customer, the invoice when it was issued, its payment when it was paid (being paid sends
        // the invoice nothing more: the ledger booked it when it was issued).
        let commands = try await store.listCommands(filter: CommandFilter(entityKey: keys[0]), limit: 20)  // newest first
        #expect(commands.reversed().map(\.command.payload.kind) == ["upsert_customer", "upsert_invoice", "register_payment"])
        guard case .upsertInvoice(let upsert) = commands.first(where: { $0.command.payload.kind == "upsert_invoice" })?.command.payload
        else { return }
        #expect(upsert.invoice.status == .open)
    }

    /// `pipeline.cache_records`: by default the next batch of a customer takes the aggregate the last one committed from
    /// memory (the store is asked only whether it is still at that version); with 0 every batch reads it from the store.
    @Test func theCacheBoundDecidesWhetherAnAggregateIsKeptBetweenBatches() async throws {
        for (records, keeps) in [(AggregateCache.defaultRecordCapacity, true), (0, false)] {
            let known = Mutex<[[EntityKey: Int64]]>([])
            var store = InterceptingAppendStore.passing(base: try SQLiteStore.temporary(logger: Logger(label: "test.store")))
            store.onLoad = { versions in known.withLock { $0.append(versions) } }
            let keys = try await Self.backlog(store, prefix: "C\(records)")
            let service = Self.service(store, eventsPerEntity: 1, cacheRecords: records, told: Told())
            for expected in [2, 1, 1, 0] { #expect(try await service.runOnce(owner: "w") == expected) }
            // The first batch knew nothing; the two after it hold the first customer at the version the one before left.
            let loads = known.withLock { $0 }
            #expect(loads.count == 3, "\(loads)")
            #expect(loads.first?.isEmpty == true)
            #expect(loads.dropFirst().map { $0[keys[0]] } == (keeps ? [1, 2] : [nil, nil]), "\(records): \(loads)")
            #expect(try await store.listEvents(status: .done, limit: 10).count == 4)
        }
    }
}

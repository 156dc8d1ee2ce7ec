import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import WeftCore
import WeftRuntime
import WeftStorePostgres

/// The scheduled catch-up job on several nodes sharing PostgreSQL: one node runs it at a time, and when that node dies
/// another takes over. Runs when `WEFT_TEST_DATABASE_URL` names a server.
@Suite(
    "Catch-up leadership across nodes",
    .enabled(if: ProcessInfo.processInfo.environment["WEFT_TEST_DATABASE_URL"].map { !$0.isEmpty } ?? false))
struct CatchUpFailoverTests {
    /// A Stripe events feed that records which node read it.
    struct RecordingFeed: EventFeed {
        let node: Int
        let reads: AsyncStream<Int>.Continuation

        func events(since: Date) async throws -> [IncomingEvent] {
            reads.yield(node)
            return []
        }
    }

    @Test func catchUpRunsOnOneNodeAndFailsOverWhenItDies() async throws {
        let logger = Logger(label: "weft.test.catch-up")
        let url = try await PostgresStore.createDatabase(
            serverURL: ProcessInfo.processInfo.environment["WEFT_TEST_DATABASE_URL"] ?? "",
            name: "weft_leader_\(UInt32.random(in: 0...UInt32.max))", logger: logger)
        var stores: [PostgresStore] = []
        for _ in 0..<2 { stores.append(try await PostgresStore.open(url: url, logger: logger)) }
        let reads = AsyncStream<Int>.makeStream()
        var tasks: [Task<Void, any Error>] = []
        for (node, store) in stores.enumerated() {
            let service = CatchUpService(
                system: "stripe", feed: RecordingFeed(node: node, reads: reads.continuation), store: store,
                interval: .milliseconds(20), overlap: .seconds(0), events: Doorbell(), logger: logger)
            tasks.append(Task { try await service.run() })
        }
        // Twenty reads in a row, all by the same node: the other never runs the job meanwhile.
        var iterator = reads.stream.makeAsyncIterator()
        let leader = try #require(await iterator.next())
        for _ in 0..<20 { #expect(await iterator.next() == leader) }
        // The leader's node dies (its database connections close): the other node takes over.
        stores[leader].close()
        tasks[leader].cancel()
        var next = try #require(await iterator.next())
        // A read the old leader had started before it noticed may still arrive; then only the survivor reads.
        while next == leader { next = try #require(await iterator.next()) }
        #expect(next == 1 - leader)
        for _ in 0..<5 { #expect(await iterator.next() == 1 - leader) }
        for task in tasks { task.cancel() }
        for store in stores { store.close() }
    }
}

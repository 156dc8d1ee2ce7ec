import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing
import WeftCore
import WeftStorePostgres

/// Several nodes on one PostgreSQL database: each "node" here is a `PostgresStore` with its own connection pool, as in
/// separate processes. Runs when `WEFT_TEST_DATABASE_URL` names a server (scripts/test starts one).
@Suite("PostgreSQL: several nodes on one database", .enabled(if: TestDatabase.baseURL != nil))
struct PostgresClusterTests {
    typealias F = Fixture

    static func nodes(_ count: Int, url given: String? = nil) async throws -> (url: String, stores: [PostgresStore]) {
        let url: String
        if let given { url = given } else { url = try await TestDatabase.create() }
        var stores: [PostgresStore] = []
        for index in 0..<count {
            stores.append(try await PostgresStore.open(url: url, logger: Logger(label: "weft.test.node\(index)")))
        }
        return (url, stores)
    }

    @Test func workersOnSeveralNodesProcessEveryEventOnceInPerEntityOrder() async throws {
        let (_, stores) = try await Self.nodes(2)
        // 20 entities × 10 events, appended in an order that is not occurred-at order.
        var incoming: [IncomingEvent] = []
        for entity in 0..<20 {
            for step in 0..<10 {
                incoming.append(F.event("e\(entity)-\(step)", key: "k\(entity)", occurred: Double(step)))
            }
        }
        incoming.shuffle()
        _ = try await stores[0].append(Array(incoming[..<100]))
        _ = try await stores[1].append(Array(incoming[100...]))
        let processed = Locked<[String: [Double]]>([:])
        let total = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                let store = stores[worker % 2]
                group.addTask {
                    while total.withLock({ $0 }) < 200 {
                        let claimed = try await store.claimEvents(
                            limit: 7, owner: "w\(worker)", lease: .seconds(60), now: F.t0)
                        if claimed.isEmpty {
                            await Task.yield()
                            continue
                        }
                        for event in claimed {
                            processed.withLock {
                                $0[event.entityKey.rawValue, default: []].append(event.occurredAt.timeIntervalSince(F.t0))
                            }
                        }
                        let committed = try await store.commitProcessed(
                            claimed.map { F.processed($0) }, owner: "w\(worker)", now: F.t0)
                        #expect(committed.count == claimed.count)
                        total.withLock { $0 += committed.count }
                    }
                }
            }
            try await group.waitForAll()
        }
        let seen = processed.withLock { $0 }
        #expect(seen.count == 20)
        for (key, steps) in seen {
            #expect(steps == (0..<10).map(Double.init), "entity \(key) processed out of order or twice: \(steps)")
        }
        #expect(try await stores[0].hasUnfinishedWork() == false)
    }

    /// Each node's commits append their changes to the terminal counts while every node folds them on its scrapes:
    /// the counts each node reads stay exact, whichever node folded what.
    @Test func terminalCountsStayExactWhileSeveralNodesCommitAndFold() async throws {
        let (_, stores) = try await Self.nodes(3)
        _ = try await stores[0].append((0..<300).map { F.event("e\($0)", key: "k\($0)") })
        let done = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, store) in stores.enumerated() {
                group.addTask {
                    while done.withLock({ $0 }) < 300 {
                        let claimed = try await store.claimEvents(limit: 9, owner: "w\(index)", lease: .seconds(60), now: F.t0)
                        if claimed.isEmpty {
                            await Task.yield()
                            continue
                        }
                        let committed = try await store.commitProcessed(
                            claimed.map { F.processed($0) }, owner: "w\(index)", now: F.t0)
                        done.withLock { $0 += committed.count }
                    }
                }
                group.addTask {
                    while done.withLock({ $0 }) < 300 {
                        let stats = try await store.stats(now: F.t0)
                        #expect((stats.eventsByStatus[.done] ?? 0) <= 300)
                    }
                }
            }
            try await group.waitForAll()
        }
        for store in stores {
            #expect(try await store.stats(now: F.t0).eventsByStatus == [.done: 300])
        }
        // Retention on one node: its deletions are counted too, on every node.
        #expect(try await stores[1].prune(before: F.at(60), limit: 1_000) == PruneCounts(events: 300, commands: 0))
        for store in stores {
            #expect(try await store.stats(now: F.t0).eventsByStatus == [:])
        }
    }

    @Test func oneNodeLeadsAJobAtATimeAndAnotherTakesOverWhenItDies() async throws {
        let (url, stores) = try await Self.nodes(2)
        let leading = Locked(0)
        let mostAtOnce = Locked(0)
        let leaders = AsyncStream<Int>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        func body(_ node: Int) -> @Sendable () async throws -> Void {
            {
                let now = leading.withLock { count -> Int in
                    count += 1
                    return count
                }
                mostAtOnce.withLock { $0 = max($0, now) }
                defer { leading.withLock { $0 -= 1 } }
                leaders.continuation.yield(node)
                if node == 0 || node == 1 {
                    // Lead until the test says so (node 0 and 1), or until cancelled.
                    for await _ in release.stream { return }
                }
            }
        }
        let first = Task { try await stores[0].lead("catch_up.stripe", retryEvery: .milliseconds(50), body: body(0)) }
        let second = Task { try await stores[1].lead("catch_up.stripe", retryEvery: .milliseconds(50), body: body(1)) }
        var order = leaders.stream.makeAsyncIterator()
        let winner = try #require(await order.next())
        // The other node keeps trying meanwhile: wait until a connection that does not hold the lock has tried.
        try await waitUntil(url: url) { connection in
            let rows = try await connection.query(
                """
                SELECT count(*) FROM pg_stat_activity AS a
                WHERE a.query LIKE 'SELECT pg_try_advisory_lock%' AND a.datname = current_database()
                  AND a.pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)
                """,
                logger: Logger(label: "t")
            ).collect()
            return try rows.first?.decode(Int64.self) ?? 0 >= 1
        }
        #expect(leading.withLock { $0 } == 1)
        // The winner finishes: the other takes over.
        release.continuation.yield()
        let next = try #require(await order.next())
        #expect(next != winner)
        _ = try await (winner == 0 ? first : second).value
        // The new leader's node dies (its connections close): a third node takes over.
        let (_, third) = try await Self.nodes(1, url: url)
        let thirdTask = Task { try await third[0].lead("catch_up.stripe", retryEvery: .milliseconds(50), body: body(2)) }
        stores[next].close()
        let successor = try #require(await order.next())
        #expect(successor == 2)
        _ = await (next == 0 ? first : second).result
        #expect(mostAtOnce.withLock { $0 } <= 2)
        thirdTask.cancel()
        _ = await thirdTask.result
        release.continuation.finish()
    }

    @Test func theTokenBucketHoldsForTheSumOfNodes() async throws {
        let (url, stores) = try await Self.nodes(2)
        let granted = Locked(0)
        let started = try await databaseMillis(url: url)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<6 {
                let store = stores[worker % 2]
                group.addTask {
                    while granted.withLock({ $0 }) < 40 {
                        // Every call grants a token, usable after the wait it returns.
                        if let wait = try await store.takeToken(bucket: "target.odoo", perSecond: 20, burst: 5) {
                            try await Task.sleep(for: wait)
                        }
                        granted.withLock { $0 += 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        let ended = try await databaseMillis(url: url)
        let count = granted.withLock { $0 }
        // A bucket of 5 refilled at 20/s gives at most 5 + 20 × elapsed tokens, whatever the number of nodes.
        let elapsed = Double(ended - started) / 1000
        #expect(count >= 40)
        #expect(Double(count) <= 5 + 20 * elapsed, "\(count) tokens in \(elapsed) s")
    }

    /// Tokens taken while the bucket is paused (a 429's Retry-After) are usable only after the pause, and then at the
    /// rate, one after another: not all at the instant the pause ends.
    @Test func tokensTakenDuringAPauseAreSpacedAfterIt() async throws {
        let (url, stores) = try await Self.nodes(2)
        #expect(try await stores[0].takeToken(bucket: "target.odoo", perSecond: 1, burst: 1) == nil)
        let paused = try await databaseMillis(url: url)
        try await stores[1].pause(bucket: "target.odoo", for: .seconds(5))
        // Each token is usable at the database's instant of its statement plus the wait it was told; that instant lies
        // between the database's clock read just before and just after the call.
        var usable: [(earliest: Int64, latest: Int64)] = []
        for index in 0..<4 {
            let before = try await databaseMillis(url: url)
            let wait = try await stores[index % 2].takeToken(bucket: "target.odoo", perSecond: 1, burst: 1)
            let after = try await databaseMillis(url: url)
            let waitMillis = (wait?.components.seconds ?? 0) * 1000 + (wait?.components.attoseconds ?? 0) / 1_000_000_000_000_000
            usable.append((before + waitMillis, after + waitMillis))
        }
        // None before the pause's end.
        #expect(usable[0].latest >= paused + 5_000, "\(usable)")
        // One second apart (a millisecond of rounding aside): the latest instant a token can be usable at is at least
        // a second after the earliest the one before it can, whatever the statements' latency. Handed out all at the
        // pause's end, they would be the statements' latency apart.
        for index in 1..<usable.count { #expect(usable[index].latest >= usable[index - 1].earliest + 999, "\(usable)") }
    }

    @Test func aNodeIsWokenWhenAnotherStoresEventsOrWritesCommands() async throws {
        let (_, stores) = try await Self.nodes(2)
        let wakeUps = AsyncStream<String>.makeStream()
        let listener = Task {
            try await stores[0].listen(
                events: { wakeUps.continuation.yield("events") }, commands: { wakeUps.continuation.yield("commands") })
        }
        var iterator = wakeUps.stream.makeAsyncIterator()
        // On connecting, both are called once (notifications sent before are lost).
        var initial: Set<String> = []
        while initial.count < 2, let next = await iterator.next() { initial.insert(next) }
        _ = try await stores[1].append([F.event("wake-1")])
        #expect(await iterator.next() == "events")
        try await stores[1].seedCommands([F.command("c-wake")], eventID: "wake-seed")
        var sawCommands = false
        while !sawCommands, let next = await iterator.next() { sawCommands = next == "commands" }
        #expect(sawCommands)
        listener.cancel()
        _ = await listener.result
    }

    @Test func migrationsRunOnceWhenNodesStartTogetherAndAnOlderSchemaIsRefusedWhenManual() async throws {
        let url = try await TestDatabase.create()
        // Five nodes open the empty database at once: each migration is applied exactly once.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<5 {
                group.addTask {
                    let store = try await PostgresStore.open(url: url, logger: Logger(label: "weft.test.m\(index)"))
                    store.close()
                }
            }
            try await group.waitForAll()
        }
        let store = try PostgresStore.connect(url: url, logger: Logger(label: "weft.test"))
        #expect(try await store.migrationStatus().pending.isEmpty)
        // A fresh database with `migrations: manual` is refused with what to run.
        let empty = try await TestDatabase.create()
        await #expect {
            _ = try await PostgresStore.open(
                url: empty, configuration: .init(applyMigrations: false), logger: Logger(label: "weft.test"))
        } throws: { error in
            "\(error)".contains("weft migrate")
        }
    }

    /// What `weft bench --against` relies on: the harness reads the nodes' store as the build under test migrated it.
    @Test func aSchemaANewerWeftMigratedIsRefusedByOpenAndReadAsIsByConnect() async throws {
        let url = try await TestDatabase.create()
        try await PostgresStore.open(url: url, logger: Logger(label: "weft.test")).close()
        _ = try await withConnection(url: url) { connection in
            try await connection.query(
                "INSERT INTO schema_migrations (name, applied_at) VALUES ('v99-from-a-newer-weft', 0)", logger: Logger(label: "t"))
        }
        for applyMigrations in [true, false] {
            await #expect {
                _ = try await PostgresStore.open(
                    url: url, configuration: .init(applyMigrations: applyMigrations), logger: Logger(label: "weft.test"))
            } throws: { error in
                "\(error)".contains("migrated by a newer Weft (v99-from-a-newer-weft)")
            }
        }
        let reader = try PostgresStore.connect(url: url, configuration: .init(maximumConnections: 2), logger: Logger(label: "t"))
        defer { reader.close() }
        #expect(try await reader.migrationStatus().unknown == ["v99-from-a-newer-weft"])
        #expect(try await reader.hasUnfinishedWork() == false)
        _ = try await reader.append([F.event("read-as-is")])
        #expect(try await reader.hasUnfinishedWork())
    }

    @Test func aBadURLOrAnUnreachableServerIsAClearErrorWithoutThePassword() async throws {
        await #expect {
            _ = try await PostgresStore.open(url: "mysql://x@y/z", logger: Logger(label: "t"))
        } throws: { error in "\(error)".contains("postgres://USER") }
        // Nothing listens on port 1.
        await #expect {
            _ = try await PostgresStore.open(
                url: "postgres://weft:s3cret-pw@127.0.0.1:1/weft?sslmode=disable", logger: Logger(label: "t"))
        } throws: { error in
            let text = "\(error)"
            return text.contains("unavailable") && !text.contains("s3cret-pw")
        }
    }

    // MARK: Helpers

    func databaseMillis(url: String) async throws -> Int64 {
        try await withConnection(url: url) { connection in
            let rows = try await connection.query(
                "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::int8", logger: Logger(label: "t")
            ).collect()
            return try rows[0].decode(Int64.self)
        }
    }

    /// Polls a database condition (not a timer: it ends as soon as the condition holds), failing after 30 s.
    func waitUntil(url: String, _ condition: @escaping @Sendable (PostgresConnection) async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await withConnection(url: url, condition) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("condition did not hold within 30 s")
    }

    func withConnection<T: Sendable>(url: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let components = try #require(URLComponents(string: url))
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "weft",
                password: components.password, database: String(components.path.dropFirst()), tls: .disable),
            id: 9, logger: Logger(label: "weft.test.probe"))
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// A value behind a lock, shareable between tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R: Sendable>(_ body: (inout sending Value) -> sending R) -> R { mutex.withLock(body) }
}

import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing
import WeftCore
import WeftRuntime
import WeftSimKit
import WeftSimZendesk
import WeftStoreSQLite
import WeftTools

@testable import WeftServer

/// The entitlement clock knows every billing customer, not only those this node derived since it started: its sweep
/// walks the store in pages and schedules the accounts in a grace period (and those whose desks missed its end).
@Suite("Entitlement clock sweeps every billing customer", .serialized)
struct EntitlementClockSweepTests {
    static let day: TimeInterval = 86_400
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let rules = EntitlementRules(
        tiers: [.init(name: "pro", rank: 2, products: ["prod_pro"], supportLevel: "priority")], graceDays: 7)
    static let deskRouter = CommandRouter(
        flows: [Flow(name: "to_zendesk", source: "stripe", target: "zendesk")], ownership: OwnershipRules(), desks: ["zendesk"],
        entitlements: rules)

    // MARK: The sweep and its schedule, on a real SQLite store

    /// A customer of `system` with a name (so the desks are sent its entitlement) and an active pro subscription;
    /// with `failedAt`, an open invoice whose payment failed then. Routed to the desks at `routedAt`, as the node that
    /// processed its last event did.
    static func account(
        _ id: String, system: SystemName = "stripe", failedAt: Date? = nil, routedAt: Date = t0
    ) -> (key: EntityKey, aggregate: Aggregate) {
        let customer = ExternalRef(system: system, kind: .customer, id: id)
        var aggregate = Aggregate()
        func put(_ value: some Encodable, _ ref: ExternalRef) {
            aggregate.records[ref.description] = RecordState(fields: CanonicalCoding.jsonValue(value).objectValue ?? [:])
        }
        put(Customer(ref: customer, name: "Account \(id)", email: "ops@example.com"), customer)
        let subscription = ExternalRef(system: system, kind: .subscription, id: "sub_\(id)")
        put(
            Subscription(
                ref: subscription, customerRef: customer, status: .active,
                items: [
                    SubscriptionItem(productRef: ExternalRef(system: system, kind: .product, id: "prod_pro"), priceRef: nil, quantity: 1)
                ],
                currentPeriodEnd: t0 + 30 * day), subscription)
        if let failedAt {
            let invoiceRef = ExternalRef(system: system, kind: .invoice, id: "in_\(id)")
            var invoice = Invoice(ref: invoiceRef, customerRef: customer)
            invoice.status = .open
            invoice.currency = .usd
            invoice.amountRemainingMinor = 2500
            put(invoice, invoiceRef)
            let payment = ExternalRef(system: system, kind: .payment, id: "in_\(id)-attempt-1")
            put(
                Payment(
                    ref: payment, customerRef: customer, invoiceRef: invoiceRef, amount: Money(amountMinor: 2500, currency: .usd),
                    status: .failed, occurredAt: failedAt), payment)
        }
        let key = EntityKey.of(customer)
        _ = deskRouter.route(entityKey: key, aggregate: &aggregate, source: system, now: routedAt)
        return (key, aggregate)
    }

    /// Stores the aggregates as the pipeline would (an event each, claimed and committed).
    static func seed(_ store: any Store, _ aggregates: [(key: EntityKey, aggregate: Aggregate)]) async throws {
        let byKey = Dictionary(aggregates.map { ($0.key, $0.aggregate) }, uniquingKeysWith: { $1 })
        _ = try await store.append(
            aggregates.enumerated().map { index, entry in
                IncomingEvent(
                    system: "stripe", eventID: SourceEventID("seed-\(index)"), type: "customer.updated", entityKey: entry.key,
                    occurredAt: t0 - 30 * day, receivedAt: t0 - 30 * day, payload: Data("{}".utf8), traceID: TraceID("t-\(index)"))
            })
        var committed = 0
        while committed < aggregates.count {
            let claimed = try await store.claimEvents(limit: 100, owner: "seeder", lease: .seconds(60), now: t0)
            try #require(!claimed.isEmpty)
            committed += try await store.commitProcessed(
                claimed.map {
                    ProcessedEvent(
                        seq: $0.seq, entityKey: $0.entityKey, aggregate: byKey[$0.entityKey], expectedVersion: nil, commands: [],
                        status: .done, outcome: "seeded", traceID: $0.traceID)
                }, owner: "seeder", now: t0
            ).count
        }
    }

    static func clock(_ store: any Store, cache: EntitlementCache = EntitlementCache(), pageSize: Int = 7) -> EntitlementClock {
        EntitlementClock(
            cache: cache, store: store, events: Doorbell(), interval: .seconds(30), billingSystems: ["stripe"], rules: rules,
            deskRouter: deskRouter, pageSize: pageSize, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// A graceful shutdown ends the clock's waits and the clock returns, without an error: a service that throws on
    /// a graceful shutdown fails its group, and `weft serve` with a desk flow exited 1 on SIGTERM.
    @Test func aGracefulShutdownEndsTheClockWithoutAnError() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test"))
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: Self.clock(store))],
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
    }

    static func rechecks(_ store: any Store) async throws -> [InboxEvent] {
        try await store.listEvents(status: nil, limit: 1000).filter { $0.type == PipelineProcessor.recheckType }
    }

    /// After a restart (an empty cache), the sweep finds the one account in grace among many, and the one whose grace
    /// period ended while no node ran with its desks still on the old level; nobody else is remembered.
    @Test func aSweepSchedulesOnlyTheAccountsWhoseEntitlementChangesWithTheClock() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test"))
        let inGrace = Self.account("cus_grace_%1", failedAt: Self.t0 - 2 * Self.day)
        // Overdue for ten days: the desks were told at t0 (after the grace period) or only at day 1 (before its end).
        let ended = Self.account("cus_ended", failedAt: Self.t0 - 10 * Self.day, routedAt: Self.t0)
        let missed = Self.account("cus_missed", failedAt: Self.t0 - 10 * Self.day, routedAt: Self.t0 - 9 * Self.day)
        let good = (0..<30).map { Self.account(String(format: "cus_%02d", $0)) }
        // Not swept: another billing system, a charge's provisional key.
        let chargebee = Self.account("cus_cb", system: "chargebee", failedAt: Self.t0 - 2 * Self.day)
        var charge = Self.account("ch_1", failedAt: Self.t0 - 2 * Self.day)
        charge.key = EntityKey.charge("ch_1", system: "stripe")
        try await Self.seed(store, [inGrace, ended, missed, chargebee, charge] + good)

        let clock = Self.clock(store)
        let found = try await clock.sweep(now: Self.t0)
        #expect(found.accounts == 33)
        #expect(found.scheduled == 2)
        #expect(clock.schedule.count == 2)
        #expect(clock.schedule.instant(of: inGrace.key) == Self.t0 + 5 * Self.day)
        #expect(clock.schedule.instant(of: missed.key) == Self.t0 - 3 * Self.day)

        // The missed end is due at once, at the instant the grace period ended; the other when its grace period ends.
        #expect(try await clock.tick(now: Self.t0) == 1)
        #expect(try await clock.tick(now: Self.t0 + 5 * Self.day - 1) == 0)
        #expect(try await clock.tick(now: Self.t0 + 5 * Self.day) == 1)
        #expect(try await clock.tick(now: Self.t0 + 6 * Self.day) == 0)
        #expect(clock.schedule.count == 0)
        let queued = try await Self.rechecks(store)
        #expect(
            Set(queued.map { "\($0.entityKey)@\($0.occurredAt.timeIntervalSince(Self.t0) / Self.day)" })
                == ["stripe/customer/cus_missed@-3.0", "stripe/customer/cus_grace_%1@5.0"])
    }

    /// Two nodes (or a node and its successor) that both sweep and tick store each recheck once; the cache and the
    /// schedule naming the same account and instant make one event.
    @Test func rechecksFromTheCacheTheScheduleAndOtherNodesAreStoredOnce() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test"))
        let inGrace = Self.account("cus_grace", failedAt: Self.t0 - 2 * Self.day)
        try await Self.seed(store, [inGrace] + (0..<10).map { Self.account("cus_\($0)") })

        let cache = EntitlementCache()
        let stored = try #require(try await store.loadAggregates([inGrace.key])[inGrace.key])
        cache.committed([(inGrace.key, stored)], billingSystems: ["stripe"], rules: Self.rules, now: Self.t0)
        let first = Self.clock(store, cache: cache, pageSize: 3)
        let second = Self.clock(store, pageSize: 500)
        #expect(try await first.sweep(now: Self.t0).scheduled == 1)
        #expect(try await second.sweep(now: Self.t0).scheduled == 1)

        let due = Self.t0 + 5 * Self.day
        #expect(try await first.tick(now: due) == 1)
        #expect(try await second.tick(now: due) == 1)
        let queued = try await Self.rechecks(store)
        #expect(queued.count == 1)
        #expect(queued.first?.entityKey == inGrace.key)
        #expect(queued.first?.occurredAt == due)
    }

    /// A store that cannot take the rechecks loses none: the next tick offers them again.
    @Test func rechecksThatCouldNotBeQueuedAreOfferedAgain() async throws {
        let sqlite = try SQLiteStore.temporary(logger: Logger(label: "test"))
        let inGrace = Self.account("cus_grace", failedAt: Self.t0 - 2 * Self.day)
        try await Self.seed(sqlite, [inGrace])
        let failing = Self.clock(InterceptingAppendStore.failing(base: sqlite))
        #expect(try await failing.sweep(now: Self.t0).scheduled == 1)
        await #expect(throws: InterceptingAppendStore.Unavailable.self) { try await failing.tick(now: Self.t0 + 6 * Self.day) }
        #expect(failing.schedule.instant(of: inGrace.key) == Self.t0 + 5 * Self.day)
    }

    // MARK: End to end: a restart, then the grace period ends with no new event

    static func organization(_ customer: String, zendeskURL: String) async throws -> JSONValue? {
        var request = HTTPClientRequest(
            url: "\(zendeskURL)/api/v2/organizations/search.json?external_id=stripe_customer_\(customer)")
        request.headers.add(
            name: "Authorization",
            value: "Basic "
                + Data("\(SupportDeskTests.zendeskEmail)/token:\(SupportDeskTests.zendeskToken)".utf8).base64EncodedString())
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw HarnessError("Zendesk organization search: \(response.status.code)") }
        return try JSONValue.parse(Data(body.readableBytesView))["organizations"]?.arrayValue?.first
    }

    /// A payment fails; the node stops; a new node starts on the same SQLite file (its cache empty) and no event
    /// arrives; when the grace period ends, Zendesk gets the lower support level from the recheck the new node queued.
    @Test func afterARestartTheSupportLevelDropsWhenTheGracePeriodEndsWithNoNewEvent() async throws {
        let logger = Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() })
        let zendesk = ZendeskSimulator(
            configuration: .init(
                agentEmail: SupportDeskTests.zendeskEmail, apiTokens: [SupportDeskTests.zendeskToken], logger: logger))
        for key in SupportDeskTests.zendeskFields.fieldNames {
            let created = zendesk.call(
                "POST", "/api/v2/organization_fields.json",
                body: #"{"organization_field":{"key":"\#(key)","type":"text","title":"\#(key)"}}"#)
            #expect(created.status == 201)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let router = Router()
        zendesk.addRoutes(to: router)
        try await SimulatorServer.withRunning(router: router, logger: logger) { zendeskPort in
            let zendeskURL = "http://127.0.0.1:\(zendeskPort)"
            @Sendable func withNode(_ body: @Sendable @escaping (TestNode) async throws -> Void) async throws {
                try await TestNode.with(
                    directory: directory, entitlements: SupportDeskTests.rules,
                    extraSystems: [
                        "zendesk": .desk(
                            DeskSystemConfiguration(
                                kind: .zendesk, baseURL: zendeskURL, email: SupportDeskTests.zendeskEmail, apiKey: .environment("ZD"),
                                fields: SupportDeskTests.zendeskFields))
                    ],
                    extraFlows: [Flow(name: "to_zendesk", source: "stripe", target: "zendesk")],
                    extraEnvironment: ["ZD": SupportDeskTests.zendeskToken], body)
            }
            // The grace period ends `margin` seconds after the payment is sent: the first node must be stopped by then,
            // or it could drop the level itself. A slow machine gets another account and a longer margin.
            for margin: Int64 in [10, 40, 160] {
                let customer = "cus_R\(margin)"
                // The failed payment is `t + 3` (see `failedPayment`): seven days before `now + margin`.
                let t = Int64(Date().timeIntervalSince1970) + margin - 7 * 86_400 - 3
                let graceEnds = Date(timeIntervalSince1970: Double(t + 3 + 7 * 86_400))
                try await withNode { node in
                    #expect(await node.send(SupportDeskTests.failedPayment(customer, at: t)).abandoned.isEmpty)
                    _ = try await node.drain()
                }
                guard Date() < graceEnds else { continue }
                // The first node stopped before the grace period ended: Zendesk shows the tier's level.
                let before = try await Self.organization(customer, zendeskURL: zendeskURL)
                #expect(before?["organization_fields"]?["weft_support_level"]?.stringValue == "priority")
                #expect(before?["organization_fields"]?["weft_standing"]?.stringValue == "overdue")

                try await withNode { node in
                    // Polls the store, not Zendesk (whose search is rate limited): the recheck processed, then every
                    // command it wrote settled.
                    try await waitUntil {
                        try await node.store.listEvents(status: .done, limit: 100).contains {
                            $0.type == PipelineProcessor.recheckType && $0.entityKey.rawValue == "stripe/customer/\(customer)"
                        }
                    }
                    _ = try await node.drain()
                    let after = try await Self.organization(customer, zendeskURL: zendeskURL)
                    #expect(after?["organization_fields"]?["weft_support_level"]?.stringValue == "basic")
                    #expect(after?["id"] == before?["id"])
                    // Nothing came from billing: the drop came from the recheck the new node queued at the grace end.
                    let events = try await node.store.listEvents(status: nil, limit: 100).filter {
                        $0.entityKey.rawValue == "stripe/customer/\(customer)"
                    }
                    let rechecks = events.filter { $0.type == PipelineProcessor.recheckType }
                    #expect(rechecks.map(\.entityKey.rawValue) == ["stripe/customer/\(customer)"])
                    #expect(rechecks.first?.occurredAt == graceEnds)
                    #expect(events.count - rechecks.count == 4)
                    #expect(try await node.entitlementLookup("stripe/\(customer)").body["support_level"]?.stringValue == "basic")
                }
                return
            }
            Issue.record("the first node never stopped before the grace period ended, even with 160 s to spare")
        }
    }
}

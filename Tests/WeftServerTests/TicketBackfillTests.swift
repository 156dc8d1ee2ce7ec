import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimFreshdesk
import WeftSimKit
import WeftSimZendesk
import WeftStoreSQLite
import WeftTools

/// Ticket catch-up over real HTTP: tickets that never reached Weft by webhook (made before Weft was configured, or
/// whose webhook was lost) are read from the desks' APIs (Zendesk's incremental export, Freshdesk's list by
/// `updated_since`) and filed under their account as a webhook would have filed them.
@Suite("TicketBackfillTests", .serialized)
struct TicketBackfillTests {
    static let logger = Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A simulator's clock, in unix seconds, that only moves when the test moves it.
    final class SimulatedClock: Sendable {
        private let seconds: Mutex<Int>
        init(_ start: Int) { seconds = Mutex(start) }
        var now: Int { seconds.withLock { $0 } }
        func advance(by delta: Int) { seconds.withLock { $0 += delta } }
    }

    /// A gate on simulated time: it never waits in real time; a 429's `Retry-After` moves the simulator's clock on by
    /// that much, which is what waiting would have done.
    final class SimulatedTimeGate: RequestGate {
        let clock: SimulatedClock
        let pauses = Mutex<[Duration?]>([])
        init(clock: SimulatedClock) { self.clock = clock }
        func acquire() async throws { try Task.checkCancellation() }
        func didReceiveRateLimit(retryAfter: Duration?) {
            pauses.withLock { $0.append(retryAfter) }
            clock.advance(by: Int(retryAfter?.components.seconds ?? 1))
        }
    }

    // MARK: (a), (c), (e) Zendesk

    @Test func zendeskTicketsMadeBeforeWeftAreFiledUnderTheirAccountByCatchUpOnce() async throws {
        let customer = "cus_BF1"
        let clock = SimulatedClock(Int(Date().timeIntervalSince1970) - 3_600)
        let zendesk = ZendeskSimulator(
            configuration: .init(
                agentEmail: SupportDeskTests.zendeskEmail, apiTokens: [SupportDeskTests.zendeskToken], now: { clock.now },
                logger: Self.logger))
        // Before Weft: the customer's organisation (Weft adopts it by external id), one no billing account has, and
        // their tickets. No webhook is configured.
        let bound = try Self.created(
            zendesk.call(
                "POST", "/api/v2/organizations.json",
                body: #"{"organization":{"name":"Backfill One","external_id":"stripe_customer_\#(customer)"}}"#),
            "organization")
        let unbound = try Self.created(
            zendesk.call("POST", "/api/v2/organizations.json", body: #"{"organization":{"name":"Nobody Bills Us"}}"#),
            "organization")
        var made: [Int64] = []
        for subject in ["Migrated from email", "Old outage report"] {
            made.append(
                try Self.created(
                    zendesk.call(
                        "POST", "/api/v2/tickets.json",
                        body: #"{"ticket":{"subject":"\#(subject)","comment":{"body":"Hi"},"organization_id":\#(bound)}}"#),
                    "ticket"))
        }
        let unboundTicket = try Self.created(
            zendesk.call(
                "POST", "/api/v2/tickets.json",
                body: #"{"ticket":{"subject":"Who are we?","comment":{"body":"Hi"},"organization_id":\#(unbound)}}"#),
            "ticket")
        let boundTickets = made
        #expect(zendesk.call("PUT", "/api/v2/tickets/\(boundTickets[1]).json", body: #"{"ticket":{"status":"solved"}}"#).status == 200)

        try await SimulatorServer.withRunning(router: SupportContextTests.router(zendesk), logger: Self.logger) { port in
            try await TestNode.with(
                extraSystems: [
                    "zendesk": .desk(
                        DeskSystemConfiguration(
                            kind: .zendesk, baseURL: "http://127.0.0.1:\(port)", email: SupportDeskTests.zendeskEmail,
                            apiKey: .environment("ZD"), catchUpInterval: .seconds(3_600)))
                ],
                extraFlows: [Flow(name: "to_zendesk", source: "stripe", target: "zendesk")],
                extraEnvironment: ["ZD": SupportDeskTests.zendeskToken]
            ) { node in
                let catchUp = try #require(node.node.catchUps.first { $0.system == "zendesk" })
                // Weft delivers the account, adopting the organisation. The tickets are younger than a minute on
                // Zendesk's clock, so the catch-up at start saw none yet (Zendesk holds the last minute back).
                #expect(await node.send(SupportDeskTests.failedPayment(customer, at: Int64(clock.now))).abandoned.isEmpty)
                _ = try await node.drain()
                try await waitUntil { try await node.store.cursor(CatchUpService.reachedCursorName("zendesk")) != nil }
                clock.advance(by: 120)
                #expect(try await catchUp.runOnce() == 3)

                // (a) The account, looked up by its Zendesk organisation, lists both tickets, in their latest state.
                try await waitUntil {
                    let tickets = try await SupportContextTests.account(node, "zendesk/\(bound)")["records"]?["ticket"]?.arrayValue
                    return tickets?.count == 2
                }
                let view = try await SupportContextTests.account(node, "zendesk/\(bound)")
                #expect(view["account"]?.stringValue == "stripe/customer/\(customer)")
                let tickets = view["records"]?["ticket"]?.arrayValue ?? []
                #expect(Set(tickets.compactMap { $0["ref"]?.stringValue }) == Set(boundTickets.map { "zendesk/ticket/\($0)" }))
                #expect(tickets.contains { $0["subject"]?.stringValue == "Old outage report" && $0["status"]?.stringValue == "solved" })
                #expect(tickets.contains { $0["subject"]?.stringValue == "Migrated from email" && $0["status"]?.stringValue == "new" })
                #expect(tickets.allSatisfy { $0["source"]?.stringValue == "zendesk" })

                // (e) The organisation no account is bound to keeps its ticket under the organisation's key.
                let orphanKey = EntityKey("zendesk/organization/\(unbound)")
                try await waitUntil { try await node.store.loadAggregates([orphanKey])[orphanKey] != nil }
                let orphan = try #require(try await node.store.loadAggregates([orphanKey])[orphanKey])
                let orphanTickets = orphan.aggregate.records(of: .ticket)
                #expect(orphanTickets.map(\.ref.description) == ["zendesk/ticket/\(unboundTicket)"])
                #expect(orphanTickets.first?.state.fields["subject"] == "Who are we?")
                #expect(!tickets.contains { $0["ref"]?.stringValue == "zendesk/ticket/\(unboundTicket)" })

                // (c) Reading again (the export is read from the cursor less the overlap: the same tickets) stores
                // nothing new.
                let stored = try await node.store.listEvents(status: nil, limit: 10_000).count
                let exportsBefore = Self.exportRequests(zendesk)
                #expect(try await catchUp.runOnce() == 0)
                #expect(Self.exportRequests(zendesk) > exportsBefore)
                #expect(try await node.store.listEvents(status: nil, limit: 10_000).count == stored)
                _ = try await node.drain()
                #expect(try await node.store.listEvents(status: .failed, limit: 10).isEmpty)
            }
        }
    }

    // MARK: (b), (c) Freshdesk

    @Test func freshdeskTicketsMadeBeforeWeftAreFiledUnderTheirAccountByCatchUpOnce() async throws {
        let customer = "cus_BF2"
        let freshdesk = FreshdeskSimulator(
            configuration: .init(
                apiKeys: [SupportDeskTests.freshdeskKey],
                companyFields: [FreshdeskSimulator.CustomField(name: "weft_account", label: "weft_account")],
                searchIndexLagSeconds: 0, logger: Self.logger))
        // Before Weft: the customer's company (Weft finds it by its account field) and its tickets; no automation rule.
        let company = try Self.id(
            freshdesk.call(
                "POST", "/api/v2/companies",
                body: #"{"name":"Backfill Two","custom_fields":{"weft_account":"stripe_customer_\#(customer)"}}"#))
        var made: [Int64] = []
        for (subject, status) in [("Refund please", 2), ("Thanks, solved", 4)] {
            made.append(
                try Self.id(
                    freshdesk.call(
                        "POST", "/api/v2/tickets",
                        body:
                            #"{"subject":"\#(subject)","description":"Hello","email":"ops@backfill-two.example","status":\#(status),"priority":1,"company_id":\#(company)}"#
                    )))
        }
        let ticketIDs = made

        try await SimulatorServer.withRunning(router: SupportContextTests.router(freshdesk), logger: Self.logger) { port in
            // The ticket list is down until Weft has delivered the account, so the catch-up at start reads nothing and
            // the one below runs once the company is bound.
            freshdesk.faults.set(FaultPlan(outageSeconds: 3_600, pathPrefix: "/api/v2/tickets"))
            try await TestNode.with(
                extraSystems: [
                    "freshdesk": .desk(
                        DeskSystemConfiguration(
                            kind: .freshdesk, baseURL: "http://127.0.0.1:\(port)", apiKey: .environment("FD"),
                            fields: DeskFieldMap(account: "weft_account"), catchUpInterval: .seconds(3_600)))
                ],
                extraFlows: [Flow(name: "to_freshdesk", source: "stripe", target: "freshdesk")],
                extraEnvironment: ["FD": SupportDeskTests.freshdeskKey]
            ) { node in
                let catchUp = try #require(node.node.catchUps.first { $0.system == "freshdesk" })
                #expect(
                    await node.send(SupportDeskTests.failedPayment(customer, at: Int64(Date().timeIntervalSince1970) - 600))
                        .abandoned.isEmpty)
                _ = try await node.drain()
                // The catch-up at start has tried (and met the outage) before the list comes back.
                try await waitUntil { freshdesk.requestLog.all.contains { $0.path.hasPrefix("/api/v2/tickets") } }
                freshdesk.faults.clear()
                // The catch-up also retries by itself a second after a failed read: whichever read comes first files the
                // two tickets, and only once (checked below, and in (c)).
                _ = try await catchUp.runOnce()

                // (b) The account, looked up by its Freshdesk company, lists both tickets.
                try await waitUntil {
                    let tickets = try await SupportContextTests.account(node, "freshdesk/\(company)")["records"]?["ticket"]?
                        .arrayValue
                    return tickets?.count == 2
                }
                let view = try await SupportContextTests.account(node, "freshdesk/\(company)")
                #expect(view["account"]?.stringValue == "stripe/customer/\(customer)")
                let tickets = view["records"]?["ticket"]?.arrayValue ?? []
                #expect(Set(tickets.compactMap { $0["ref"]?.stringValue }) == Set(ticketIDs.map { "freshdesk/ticket/\($0)" }))
                #expect(tickets.contains { $0["subject"]?.stringValue == "Refund please" && $0["status"]?.stringValue == "open" })
                #expect(tickets.contains { $0["subject"]?.stringValue == "Thanks, solved" && $0["status"]?.stringValue == "resolved" })

                // (c) Reading again stores nothing new.
                let stored = try await node.store.listEvents(status: nil, limit: 10_000).count
                #expect(try await catchUp.runOnce() == 0)
                #expect(try await node.store.listEvents(status: nil, limit: 10_000).count == stored)
                #expect(try await node.store.listEvents(status: .failed, limit: 10).isEmpty)
            }
        }
    }

    // MARK: (d) the export's 10 requests a minute

    @Test func theZendeskExportKeepsToTenRequestsAMinuteAndFinishes() async throws {
        let clock = SimulatedClock(Int(Date().timeIntervalSince1970) - 7_200)
        let zendesk = ZendeskSimulator(
            configuration: .init(
                agentEmail: SupportDeskTests.zendeskEmail, apiTokens: [SupportDeskTests.zendeskToken], now: { clock.now },
                logger: Self.logger))
        var made: [Int64] = []
        for index in 0..<30 {
            made.append(
                try Self.created(
                    zendesk.call(
                        "POST", "/api/v2/tickets.json", body: #"{"ticket":{"subject":"Ticket \#(index)","comment":{"body":"Hi"}}}"#),
                    "ticket"))
            clock.advance(by: 1)
        }
        clock.advance(by: 120)
        let tickets = made
        let store = try SQLiteStore.temporary(logger: Self.logger)
        try await SimulatorServer.withRunning(router: SupportContextTests.router(zendesk), logger: Self.logger) { port in
            let gate = SimulatedTimeGate(clock: clock)
            let feed = DeskTicketFeed(
                source: .zendesk(
                    ZendeskTicketFeed(
                        configuration: ZendeskConfiguration(
                            baseURL: "http://127.0.0.1:\(port)",
                            auth: .apiToken(email: SupportDeskTests.zendeskEmail, token: SupportDeskTests.zendeskToken)),
                        httpClient: .shared, gate: gate, pageSize: 2)),
                filing: DeskTicketFiling(system: "zendesk", desk: .zendesk, store: store, billingSystems: ["stripe"]),
                logger: Self.logger)
            zendesk.requestLog.reset()
            let events = try await feed.events(since: Date(timeIntervalSince1970: Double(clock.now - 86_400)))

            // Every ticket, once, oldest first, filed under "no organisation".
            #expect(events.map { Int64($0.eventID.rawValue.split(separator: ":")[2]) } == tickets)
            #expect(events.allSatisfy { $0.type == DeskTicket.snapshotEventType && $0.entityKey == EntityKey("zendesk/organization/none") })
            // 15 pages: more than one minute's allowance of 10. Zendesk answered 429 beyond it, the feed waited
            // (Retry-After, on the simulator's clock) and carried on.
            let exports = zendesk.requestLog.all.filter { $0.path.hasPrefix("/api/v2/incremental/") }
            #expect(exports.filter { $0.status == 200 }.count == 15)
            #expect(exports.contains { $0.status == 429 })
            #expect(!gate.pauses.withLock { $0 }.isEmpty)
            #expect(gate.pauses.withLock { $0 }.allSatisfy { $0 != nil })
        }
    }

    // MARK: Configuration

    @Test func catchUpIsOffUnlessTheDeskAsksForIt() throws {
        func desks(_ zendeskCatchUp: String, _ freshdeskCatchUp: String) -> (WeftConfiguration?, [ConfigurationProblem]) {
            ConfigurationLoader.load(
                text: """
                    store: { sqlite: ./weft.db }
                    systems:
                      stripe: { type: stripe, webhook_secret_env: S, catch_up: { enabled: false } }
                      zendesk:
                        type: zendesk
                        base_url: https://acme.zendesk.com
                        email: weft@acme.com
                        api_token_env: ZD
                    \(zendeskCatchUp)
                      freshdesk:
                        type: freshdesk
                        base_url: https://acme.freshdesk.com
                        api_key_env: FD
                        fields: { account: weft_account }
                    \(freshdeskCatchUp)
                    flows:
                      to_zendesk: { from: stripe, to: zendesk }
                    """)
        }
        /// Each desk's catch-up interval in seconds, or `off`.
        func intervals(_ loaded: WeftConfiguration?) -> [String: String] {
            var found: [String: String] = [:]
            for (name, system) in loaded?.systems ?? [:] {
                if case .desk(let desk) = system {
                    found[name.rawValue] = desk.catchUpInterval.map { "\($0.components.seconds)" } ?? "off"
                }
            }
            return found
        }
        let (off, offProblems) = desks("", "")
        #expect(offProblems.isEmpty, "\(offProblems)")
        #expect(intervals(off) == ["zendesk": "off", "freshdesk": "off"])

        let (on, onProblems) = desks(
            "    catch_up: { interval_seconds: 600, overlap_seconds: 120 }", "    catch_up: {}")
        #expect(onProblems.isEmpty, "\(onProblems)")
        #expect(intervals(on) == ["zendesk": "600", "freshdesk": "300"])
        if case .desk(let zendesk) = on?.systems["zendesk"] { #expect(zendesk.catchUpOverlap == .seconds(120)) }

        let (disabled, _) = desks("    catch_up: { enabled: false }", "")
        #expect(intervals(disabled)["zendesk"] == "off")
        let (bad, badProblems) = desks("    catch_up: { every: 5 }", "")
        #expect(bad == nil)
        #expect(badProblems.contains { $0.message.contains("catch_up") })
    }

    // MARK: Helpers

    /// The id of a record a `POST` created in the Zendesk simulator (`{"<root>":{"id":…}}`).
    static func created(_ result: ZendeskSimulator.CallResult, _ root: String) throws -> Int64 {
        #expect(result.status == 201)
        return try #require(try result.json()[root]?["id"]?.intValue)
    }

    /// The id of a record a `POST` created in the Freshdesk simulator.
    static func id(_ result: (status: Int, body: [UInt8])) throws -> Int64 {
        #expect(result.status == 201)
        return try #require(try JSONValue.parse(Data(result.body))["id"]?.intValue)
    }

    static func exportRequests(_ zendesk: ZendeskSimulator) -> Int {
        zendesk.requestLog.all.filter { $0.path.hasPrefix("/api/v2/incremental/") }.count
    }
}

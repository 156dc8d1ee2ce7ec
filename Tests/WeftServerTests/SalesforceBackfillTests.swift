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
import WeftSimKit
import WeftSimSalesforce
import WeftStoreSQLite
import WeftTools

/// `weft backfill` of a Salesforce system over real HTTP against the Salesforce simulator: keyset pages of
/// opportunities (deleted ones too) into the inbox as `opportunity.snapshot` events, resumable.
@Suite struct SalesforceBackfillTests {
    static let clientID = "3MVG9weftBackfillConsumerKey"
    static let clientSecret = "salesforce-backfill-consumer-secret"
    static let version = "/services/data/v62.0"
    /// 2026-01-01T00:00:00Z.
    static let since = 1_767_225_600_000

    /// Opportunities stamped in three seconds (three, two and one of them; one of the two deleted later), one stamped
    /// before `since`; pages of two, so a page ends inside a shared `SystemModstamp` and the Id breaks the tie. With
    /// `millisecond` above 0 the stamps carry milliseconds (the simulator keeps them; Salesforce stores whole seconds).
    @Test(arguments: [0, 250])
    func aBackfillStoresEveryOpportunityOnceAndResumesWhereItStopped(millisecond: Int) async throws {
        let clock = Mutex(Self.since - 86_400_000)
        let salesforce = SalesforceSimulator(
            configuration: .init(
                connectedApps: [
                    Self.clientID: .init(clientSecret: Self.clientSecret, clientCredentialsRunAs: "integration@weft.example")
                ],
                now: { clock.withLock { $0 } },
                logger: Logger(label: "salesforce", factory: { _ in SwiftLogNoOpLogHandler() })))
        _ = try Self.createOpportunity(salesforce, "Before the backfill")
        var seeded: [String] = []
        for (second, count) in [(0, 3), (1, 2), (2, 1)] {
            clock.withLock { $0 = Self.since + second * 1000 + millisecond }
            for index in 0..<count { seeded.append(try Self.createOpportunity(salesforce, "Deal \(second).\(index)")) }
        }
        let created = seeded
        // Deleted last: its SystemModstamp moves to the deletion, and only queryAll still returns it.
        clock.withLock { $0 = Self.since + 3000 + millisecond }
        let deleted = created[3]
        #expect(salesforce.call("DELETE", "\(Self.version)/sobjects/Opportunity/\(deleted)").status == 204)

        try await Self.withBackfill(salesforce, pageSize: 2) { backfill, store in
            let since = Date(timeIntervalSince1970: Double(Self.since) / 1000)

            // The first page is stored, then Salesforce fails: the run stops with the position saved.
            await #expect(throws: (any Error).self) {
                try await backfill.run(since: since) { progress in
                    #expect(progress.total == 6)
                    salesforce.faults.set(FaultPlan(errorRate: 1, errorStatus: 503))
                }
            }
            let saved = try #require(try await store.cursor(backfill.cursorName(since: since)))
            #expect(saved.contains(#""read":2"#))
            // The page ended inside the first second: at its second-lowest Id; the third is read on resume.
            #expect(saved.contains(created[0..<3].sorted()[1]))
            let firstPage = try await store.listEvents(status: nil, limit: 100)
            #expect(firstPage.count == 2)

            // Resumed: only the rest is read (6 in all, not 2 + 6), each opportunity stored once.
            salesforce.faults.clear()
            let totals = Mutex<[Int]>([])
            let result = try await backfill.run(since: since) { progress in totals.withLock { $0.append(progress.total) } }
            #expect(result.read == 6)
            #expect(result.stored == 4)
            #expect(totals.withLock { $0 }.first == 6)
            #expect(try await store.cursor(backfill.cursorName(since: since)) == "done")
            let events = try await store.listEvents(status: nil, limit: 100)
            #expect(events.count == 6)
            #expect(events.allSatisfy { $0.type == "opportunity.snapshot" })
            #expect(
                Set(events.map(\.entityKey)) == Set(created.map { EntityKey.of(ExternalRef(system: "salesforce", kind: .deal, id: $0)) }))
            let deletedEvent = try #require(
                events.first { $0.entityKey == EntityKey.of(ExternalRef(system: "salesforce", kind: .deal, id: deleted)) })
            #expect(try JSONValue.parse(deletedEvent.payload)["opportunity"]?["IsDeleted"]?.boolValue == true)
            #expect(salesforce.requestLog.all.contains { $0.path.hasSuffix("/queryAll") })

            // A finished backfill does nothing when run again: no query, nothing stored.
            let requests = salesforce.requestLog.all.count
            let again = try await backfill.run(since: since) { _ in }
            #expect(again.read == 0)
            #expect(salesforce.requestLog.all.count == requests)
            #expect(try await store.listEvents(status: nil, limit: 100).count == 6)
        }
    }

    /// Salesforce pages a parent's child records beyond some count (`done: false` in the child result): the reader
    /// then reads the opportunity's lines on their own, so a deal with many products keeps all of them.
    @Test func anOpportunityWhoseLinesSalesforcePagesKeepsThemAll() async throws {
        let clock = Mutex(Self.since + 1000)
        let salesforce = SalesforceSimulator(
            configuration: .init(
                connectedApps: [
                    Self.clientID: .init(clientSecret: Self.clientSecret, clientCredentialsRunAs: "integration@weft.example")
                ],
                now: { clock.withLock { $0 } }, childRecordsPerPage: 2,
                logger: Logger(label: "salesforce", factory: { _ in SwiftLogNoOpLogHandler() })))
        let opportunity = try Self.createOpportunity(salesforce, "Many products")
        let product = salesforce.call("POST", "\(Self.version)/sobjects/Product2", body: #"{"Name":"Seat","ProductCode":"SEAT"}"#)
        let productID = try #require(try JSONValue.parse(Data(product.body))["id"]?.stringValue)
        for quantity in 1...5 {
            let line = #"{"OpportunityId":"\#(opportunity)","Product2Id":"\#(productID)","Quantity":\#(quantity),"UnitPrice":10}"#
            #expect(salesforce.call("POST", "\(Self.version)/sobjects/OpportunityLineItem", body: line).status == 201)
        }
        try await Self.withBackfill(salesforce, pageSize: 10) { backfill, store in
            let result = try await backfill.run(since: Date(timeIntervalSince1970: Double(Self.since) / 1000)) { _ in }
            #expect(result.stored == 1)
            let event = try #require(try await store.listEvents(status: nil, limit: 10).first)
            let snapshot = try #require(SalesforceOpportunitySnapshot.parse(event.payload))
            #expect(snapshot.lines.compactMap { $0["Quantity"]?.doubleValue }.sorted() == [1, 2, 3, 4, 5])
        }
    }

    /// The page query: typed literals, the position as a keyset condition (never `OFFSET`), a millisecond literal only
    /// when the stamp has milliseconds.
    @Test func aPageContinuesAfterTheLastSystemModstampAndIdRead() throws {
        let reader = SalesforceOpportunityReader(
            configuration: SalesforceConfiguration(
                instanceURL: "http://127.0.0.1:9",
                authentication: .clientCredentials(clientID: Self.clientID, clientSecret: Self.clientSecret)),
            mapping: SalesforceOpportunityMapping(), system: "salesforce", httpClient: .shared, gate: RateGate(limit: nil))
        let since = Date(timeIntervalSince1970: Double(Self.since) / 1000)
        #expect(
            reader.modifiedQuery(since: since, after: nil, limit: 200).text
                == "SELECT Id, SystemModstamp FROM Opportunity WHERE SystemModstamp >= 2026-01-01T00:00:00Z "
                + "ORDER BY SystemModstamp, Id LIMIT 200")
        let position = SalesforceModstampPosition(
            systemModstamp: Date(timeIntervalSince1970: Double(Self.since + 5000) / 1000), id: "006O'Brien")
        #expect(
            reader.modifiedQuery(since: since, after: position, limit: nil).text
                == "SELECT COUNT() FROM Opportunity WHERE SystemModstamp >= 2026-01-01T00:00:00Z AND "
                + "(SystemModstamp > 2026-01-01T00:00:05Z OR (SystemModstamp = 2026-01-01T00:00:05Z AND Id > '006O\\'Brien'))")
        let precise = SalesforceModstampPosition(
            systemModstamp: Date(timeIntervalSince1970: Double(Self.since + 5042) / 1000), id: "006A")
        #expect(
            reader.modifiedQuery(since: since, after: precise, limit: 2).text.contains(
                "SystemModstamp > 2026-01-01T00:00:05.042Z OR (SystemModstamp = 2026-01-01T00:00:05.042Z AND Id > '006A')"))
        // The stored position reads back the same.
        let encoded = try JSONEncoder().encode(precise)
        #expect(String(decoding: encoded, as: UTF8.self).contains(#""systemModstamp":"2026-01-01T00:00:05.042Z""#))
        #expect(try JSONDecoder().decode(SalesforceModstampPosition.self, from: encoded) == precise)
    }

    /// Serves `salesforce` on a free port and runs `body` with a backfill of it into a fresh SQLite store (client
    /// credentials, pages of `pageSize`).
    static func withBackfill(
        _ salesforce: SalesforceSimulator, pageSize: Int,
        _ body: @escaping @Sendable (CRMBackfill, SQLiteStore) async throws -> Void
    ) async throws {
        let router = Router()
        salesforce.addRoutes(to: router)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-sf-backfill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("weft.db").path, logger: Logger(label: "test"))
        try await SimulatorServer.withRunning(
            router: router, logger: Logger(label: "salesforce", factory: { _ in SwiftLogNoOpLogHandler() })
        ) { port in
            let configuration = SalesforceSystemConfiguration(
                instanceURL: "http://127.0.0.1:\(port)",
                authentication: .clientCredentials(clientID: Self.clientID, clientSecret: .environment("SF_SECRET")),
                currency: CurrencyCode(rawValue: "EUR")!, rateLimit: nil)
            let backfill = try CRMBackfill(
                system: "salesforce", salesforce: configuration, environment: ["SF_SECRET": Self.clientSecret],
                store: store, httpClient: .shared, pageSize: pageSize, logger: Logger(label: "test"))
            try await body(backfill, store)
        }
    }

    /// Creates an opportunity through the simulator's REST API; returns its id.
    static func createOpportunity(_ salesforce: SalesforceSimulator, _ name: String) throws -> String {
        let body = String(
            decoding: JSONValue.object(["Name": .string(name), "StageName": "Prospecting", "CloseDate": "2026-11-30"])
                .serialized(), as: UTF8.self)
        let result = salesforce.call("POST", "\(version)/sobjects/Opportunity", body: body)
        guard result.status == 201, let id = try JSONValue.parse(Data(result.body))["id"]?.stringValue else {
            throw HarnessError("creating an Opportunity answered \(result.status)")
        }
        return id
    }
}

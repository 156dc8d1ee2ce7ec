import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimHubSpot
import WeftSimKit
import WeftStoreSQLite

/// `weft backfill` over real HTTP against the HubSpot simulator: pages of deals into the inbox, resumable.
@Suite struct HubSpotBackfillTests {
    @Test func aBackfillStoresEveryDealOnceAndResumesWhereItStopped() async throws {
        let hubspot = HubSpotSimulator(configuration: .init(accessTokens: ["pat-backfill"]))
        for index in 1...5 {
            let result = hubspot.call(
                "POST", "/crm/v3/objects/deals",
                body: #"{"properties":{"dealname":"Deal \#(index)","dealstage":"closedwon","amount":"\#(index)00"}}"#)
            #expect(result.status == 201)
        }
        let router = Router()
        hubspot.addRoutes(to: router)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-backfill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("weft.db").path, logger: Logger(label: "test"))
        try await SimulatorServer.withRunning(router: router, logger: Logger(label: "hubspot", factory: { _ in SwiftLogNoOpLogHandler() }))
        {
            port in
            let configuration = HubSpotSystemConfiguration(
                baseURL: "http://127.0.0.1:\(port)", accessToken: .environment("TOKEN"), rateLimit: nil)
            let backfill = try CRMBackfill(
                system: "hubspot", hubspot: configuration, environment: ["TOKEN": "pat-backfill"], store: store,
                httpClient: .shared, pageSize: 2, logger: Logger(label: "test"))
            let since = Date(timeIntervalSince1970: 0)
            // The first page is stored, then HubSpot fails: the run stops with the position saved.
            await #expect(throws: (any Error).self) {
                try await backfill.run(since: since) { _ in hubspot.faults.set(FaultPlan(errorRate: 1, errorStatus: 503)) }
            }
            let saved = try #require(try await store.cursor(backfill.cursorName(since: since)))
            #expect(saved.contains(#""read":2"#))
            #expect(try await store.listEvents(status: nil, limit: 100).count == 2)

            hubspot.faults.clear()
            let pages = PageCounter()
            let result = try await backfill.run(since: since) { _ in pages.increment() }
            #expect(result.read >= 5)
            #expect(try await store.cursor(backfill.cursorName(since: since)) == "done")
            let events = try await store.listEvents(status: nil, limit: 100)
            #expect(events.count == 5)
            #expect(Set(events.map(\.entityKey)).count == 5)
            #expect(events.allSatisfy { $0.type == "deal.snapshot" })
            // A finished backfill does nothing when run again.
            let again = try await backfill.run(since: since) { _ in }
            #expect(again.read == 0)
            #expect(try await store.listEvents(status: nil, limit: 100).count == 5)
        }
    }
}

/// A counter the progress callback can bump.
final class PageCounter: Sendable {
    private let value = Mutex(0)
    func increment() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}

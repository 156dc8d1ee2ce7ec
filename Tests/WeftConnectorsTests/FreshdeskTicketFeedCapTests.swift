import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftSimFreshdesk
import WeftSimKit

/// `FreshdeskTicketFeed` against the Freshdesk simulator over real HTTP, with the list's page cap lowered so that
/// reaching it takes a few tickets: the feed restarts from the newest `updated_at` it saw and reads every ticket once.
@Suite struct FreshdeskTicketFeedCapTests {
    static let logger = Logger(label: "test.freshdesk.feed", factory: { _ in SwiftLogNoOpLogHandler() })
    static let key = "fd_feed_key"

    /// The simulator's clock, in unix seconds, moved by the test.
    final class Clock: Sendable {
        private let seconds: Mutex<Int>
        init(_ start: Int) { seconds = Mutex(start) }
        func advance(_ delta: Int) { seconds.withLock { $0 += delta } }
        var now: @Sendable () -> Date { { Date(timeIntervalSince1970: TimeInterval(self.seconds.withLock { $0 })) } }
    }

    /// A simulator (page cap `cap`) holding `count` tickets, each updated one second after the one before; `body` gets
    /// the simulator, the ids in update order and the port it listens on.
    func withTickets(
        count: Int, cap: Int,
        _ body: @escaping @Sendable (FreshdeskSimulator, [Int64], Int) async throws -> Void
    ) async throws {
        let clock = Clock(1_767_225_600)
        let simulator = FreshdeskSimulator(
            configuration: .init(apiKeys: [Self.key], now: clock.now, maximumTicketListPage: cap, logger: Self.logger))
        var ids: [Int64] = []
        for index in 0..<count {
            let created = simulator.call(
                "POST", "/api/v2/tickets",
                body: #"{"subject":"Ticket \#(index)","description":"d","email":"ops@acme.example"}"#)
            #expect(created.status == 201)
            ids.append(try #require(try JSONValue.parse(Data(created.body))["id"]?.intValue))
            clock.advance(1)
        }
        let made = ids
        let router = Router()
        simulator.addRoutes(to: router)
        try await SimulatorServer.withRunning(router: router, logger: Self.logger) { port in
            try await body(simulator, made, port)
        }
    }

    static func feed(port: Int, pageSize: Int, maximumPage: Int = FreshdeskTicketFeed.maximumPage) -> FreshdeskTicketFeed {
        FreshdeskTicketFeed(
            configuration: FreshdeskConfiguration(
                baseURL: "http://127.0.0.1:\(port)", apiKey: key, fields: DeskFieldMap(account: "weft_account")),
            httpClient: .shared, gate: OpenGate(), pageSize: pageSize, maximumPage: maximumPage)
    }

    /// The ticket-list requests the simulator served, with their statuses.
    static func listRequests(_ simulator: FreshdeskSimulator) -> [Int] {
        simulator.requestLog.all.filter { $0.path == "/api/v2/tickets" }.map(\.status)
    }

    @Test func restartsFromTheNewestUpdateAtTheCapAndReadsEveryTicketOnce() async throws {
        try await withTickets(count: 20, cap: 3) { simulator, made, port in
            let since = Date(timeIntervalSince1970: 1_767_225_600 - 60)
            let snapshots = try await Self.feed(port: port, pageSize: 2, maximumPage: 3).tickets(
                since: since, logger: Self.logger)

            #expect(snapshots.map(\.ticket.ticketID) == made)
            #expect(Set(snapshots.map(\.ticket.eventID)).count == 20)
            // Three pages of two, then a restart from the newest update seen (its ticket comes again and is
            // dropped): pages 1-3 four times (6 + 5 + 5 + 4 new tickets), the last read ending on page 3 without a
            // next link. Every answer was a 200: no page beyond the cap was asked for (that is a 400).
            #expect(Self.listRequests(simulator) == Array(repeating: 200, count: 12))
        }
    }

    @Test func aFeedThatAsksBeyondTheCapGetsFreshdesksRefusal() async throws {
        try await withTickets(count: 5, cap: 2) { _, _, port in
            // The feed believes 300 pages are served; the account serves 2: page 3 is refused, and the read fails
            // rather than returning a partial list as if it were complete.
            await #expect(throws: (any Error).self) {
                _ = try await Self.feed(port: port, pageSize: 2).tickets(
                    since: Date(timeIntervalSince1970: 1_767_225_000), logger: Self.logger)
            }
        }
    }
}

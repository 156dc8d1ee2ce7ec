import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimKit
import WeftTools

/// Stripe webhooks over real HTTP into Weft, delivered over real HTTP into the Odoo simulator.
@Suite("End to end: Stripe → Weft → Odoo", .serialized)
struct EndToEndTests {
    @Test func storyLandsInOdooExactlyOnce() async throws {
        try await TestNode.with { node in
            let story = StripeEventFactory(prefix: "E").story(customers: 12)
            let sent = await node.send(story.events)
            #expect(sent.abandoned.isEmpty)
            let stats = try await node.drain()
            #expect(stats.events["done"] == story.events.count)
            #expect(stats.deadCommandsByKind.isEmpty)
            let summary = try await node.odooSummary(namePrefix: "Customer E")
            #expect(summary == OdooSummary.expected(story))
            // Redelivering everything changes nothing.
            let again = await node.send(story.events)
            #expect(again.duplicates == story.events.count)
            _ = try await node.drain()
            #expect(try await node.odooSummary(namePrefix: "Customer E") == summary)
        }
    }

    @Test(arguments: [OdooAPI.jsonrpc, .xmlrpc])
    func otherOdooTransportsGiveTheSameResult(api: OdooAPI) async throws {
        try await TestNode.with(api: api) { node in
            let story = StripeEventFactory(prefix: "T").story(customers: 4)
            let sent = await node.send(story.events)
            let stats = try await node.drain()
            // Said when it fails (it did once, under load, not reproduced): what was sent and what the store holds.
            #expect(
                try await node.odooSummary(namePrefix: "Customer T") == OdooSummary.expected(story),
                "sent \(sent.accepted) accepted, \(sent.duplicates) duplicates, \(sent.abandoned.count) abandoned of \(story.events.count); \(stats)"
            )
        }
    }

    /// The story's events in a seeded random order, the first 15 of them sent twice.
    static func shuffledWithDuplicates(_ story: StripeEventFactory.Story, seed: UInt64) -> [StripeTestEvent] {
        var generator = SeededGenerator(seed: seed)
        let events = story.events.shuffled(using: &generator)
        return events + events.prefix(15)
    }

    @Test func shuffledAndDuplicatedDeliveryMatchesInOrderDelivery() async throws {
        let story = StripeEventFactory(prefix: "S").story(customers: 10)
        let shuffledEvents = Self.shuffledWithDuplicates(story, seed: 42)
        try await TestNode.with { node in
            // One at a time, so the shuffled order is the arrival order.
            _ = await node.send(shuffledEvents, concurrency: 1)
            _ = try await node.drain()
            #expect(try await node.odooSummary(namePrefix: "Customer S") == OdooSummary.expected(story))
        }
    }

    /// Against Odoo Accounting, whose payments get no journal entry (invoices stay `in_payment` with their residual
    /// whole), shuffled and duplicated deliveries still leave exactly one payment per paid invoice and one credit note
    /// per refund, and redelivering everything changes nothing.
    @Test func withOdooAccountingShuffledAndDuplicatedDeliveryLandsExactlyOnce() async throws {
        let story = StripeEventFactory(prefix: "A").story(customers: 10)
        let shuffledEvents = Self.shuffledWithDuplicates(story, seed: 7)
        try await TestNode.with(odooAccounting: true) { node in
            _ = await node.send(shuffledEvents, concurrency: 1)
            let stats = try await node.drain()
            #expect(stats.deadCommandsByKind.isEmpty)
            let summary = try await node.odooSummary(namePrefix: "Customer A")
            #expect(summary == OdooSummary.expected(story))
            #expect(try await node.odooCount("account.payment", [["state", "=", "in_process"], ["move_id", "=", false]]) > 0)
            _ = await node.send(story.events)
            _ = try await node.drain()
            #expect(try await node.odooSummary(namePrefix: "Customer A") == summary)
        }
    }

    @Test func odooOutageOpensTheBreakerLosesNothingAndDrainsAfter() async throws {
        try await TestNode.with(breakerThreshold: 2, breakerOpenFor: .milliseconds(300)) { node in
            node.faults.set(.init(outageSeconds: 3))
            let story = StripeEventFactory(prefix: "O").story(customers: 6)
            _ = await node.send(story.events)
            // The breaker must open while Odoo is down.
            var opened = false
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while !opened && ContinuousClock.now < deadline {
                opened = node.node.dispatchers["odoo"]?.breakerState.isOpenOrProbing == true
                if !opened { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(opened)
            let stats = try await node.drain()
            #expect(stats.deadCommandsByKind.isEmpty)
            #expect(try await node.odooSummary(namePrefix: "Customer O") == OdooSummary.expected(story))
        }
    }

    @Test func rateLimitHoldsAtTheWireThrough429Storms() async throws {
        try await TestNode.with(odooRateLimit: RateLimit(perSecond: 40, burst: 5)) { node in
            node.faults.set(.init(rateLimitRate: 0.05, retryAfterSeconds: 1))
            let story = StripeEventFactory(prefix: "R").story(customers: 4)
            _ = await node.send(story.events)
            _ = try await node.drain()
            // Never more than burst + rate requests in any one-second window (measured before our own checks).
            let worst = node.requests.maxRequests(in: .seconds(1))
            #expect(worst <= 5 + 40, "\(worst) requests in one second")
            #expect(node.faults.injectedCount > 0)
            node.faults.clear()
            let summary = try await node.odooSummary(namePrefix: "Customer R")
            #expect(summary == OdooSummary.expected(story), "Odoo holds \(summary), expected \(OdooSummary.expected(story))")
            if summary != OdooSummary.expected(story) {
                for command in try await node.node.store.listCommands(filter: CommandFilter(), limit: 500)
                where command.status != .delivered {
                    Issue.record("undelivered: \(command.command.payload.kind) \(command.status) \(command.lastError ?? "-")")
                }
            }
        }
    }
}

extension CircuitBreaker.State {
    var isOpenOrProbing: Bool {
        if case .closed = self { return false }
        return true
    }
}

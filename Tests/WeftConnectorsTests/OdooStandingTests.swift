import Foundation
import Logging
import Testing
import WeftCore
import WeftSimKit
import WeftSimOdoo

@testable import WeftConnectors

/// A batch of standings reaches Odoo as the past-due tag on each customer's partner, in a fixed number of calls.
@Suite("Odoo standing: the past-due tag, a batch at a time")
struct OdooStandingTests {
    typealias Support = OdooPartnerTestSupport

    static func customer(_ id: String) -> ExternalRef { ExternalRef(system: "stripe", kind: .customer, id: id) }

    static func command(_ id: String, _ state: StandingState, number: Int64) -> OutboxCommand {
        OutboxCommand(
            id: CommandID(number), target: "odoo", entityKey: EntityKey.of(customer(id)),
            idempotencyKey: IdempotencyKey("standing-\(number)"),
            payload: .setStanding(Standing(customerRef: customer(id), state: state, since: Date(timeIntervalSince1970: 1_780_000_000))),
            traceID: TraceID("trace"), attempts: 0, createdAt: Date(timeIntervalSince1970: 1_780_000_000))
    }

    static func tagged(_ simulator: OdooSimulator, _ partner: Int64, tag: Int64) -> Bool {
        Support.record(simulator, "res.partner", partner)["category_id"]?.arrayValue?.contains(.int(tag)) ?? false
    }

    @Test func aBatchTagsAndUntagsEveryPartnerInOneWriteEachAndTheLastStandingOfAPartnerWins() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A", bound: Self.customer("cus_A").xmlidName)
            let b = try await Support.company(client, "B", bound: Self.customer("cus_B").xmlidName)
            // Found by `ref` (a partner Weft did not create), not by external id.
            let c = try await Support.partner(client, ["name": "C", "ref": .string(Self.customer("cus_C").xmlidName)])
            let e = try await Support.company(client, "E", bound: Self.customer("cus_E").xmlidName)

            let first = await target.deliver([Self.command("cus_B", .pastDue, number: 1)], logger: Support.logger)
            #expect(first == [.delivered(record: TargetRecordID(model: "res.partner", id: String(b)), note: nil)])
            let tag = try #require(
                simulator.records(model: "res.partner.category").first { $0["name"]?.stringValue == "Past due" }?["id"]?.intValue)
            #expect(Self.tagged(simulator, b, tag: tag))

            simulator.requestLog.reset()
            let outcomes = await target.deliver(
                [
                    Self.command("cus_A", .pastDue, number: 2), Self.command("cus_B", .good, number: 3),
                    Self.command("cus_C", .pastDue, number: 4), Self.command("cus_D", .pastDue, number: 5),
                    Self.command("cus_E", .pastDue, number: 6), Self.command("cus_E", .good, number: 7),
                ], logger: Support.logger)
            #expect(Self.tagged(simulator, a, tag: tag))
            #expect(!Self.tagged(simulator, b, tag: tag))
            #expect(Self.tagged(simulator, c, tag: tag))
            #expect(!Self.tagged(simulator, e, tag: tag))
            for (index, partner) in [(0, a), (1, b), (2, c), (4, e), (5, e)] {
                #expect(outcomes[index] == .delivered(record: TargetRecordID(model: "res.partner", id: String(partner)), note: nil))
            }
            guard case .retry(let failure) = outcomes[3] else {
                Issue.record("a customer not in Odoo must wait for its partner, got \(outcomes[3])")
                return
            }
            #expect(failure.kind == .dependencyMissing)
            // Lookup by external id, by `ref`, one read, one write adding the tag and one removing it.
            let paths = simulator.requestLog.all.map(\.path)
            #expect(
                paths == [
                    "/json/2/ir.model.data/search_read", "/json/2/res.partner/search_read", "/json/2/res.partner/read",
                    "/json/2/res.partner/write", "/json/2/res.partner/write",
                ])
        }
    }

    @Test func noPartnerInOdooIsADependencyToWaitFor() async throws {
        try await Support.withOdoo { _, client in
            let outcomes = await OdooTarget(client: client).deliver(
                [Self.command("cus_X", .pastDue, number: 1)], logger: Support.logger)
            guard case .retry(let failure) = outcomes.first else {
                Issue.record("expected a retry, got \(outcomes)")
                return
            }
            #expect(failure.kind == .dependencyMissing)
        }
    }
}

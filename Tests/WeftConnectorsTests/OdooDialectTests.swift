import Foundation
import Logging
import Testing
import WeftCore
import WeftSimOdoo

@testable import WeftConnectors

/// Odoo Online's releases between two majors (`saas~18.3`) may carry either major's names: Weft asks the database
/// (`fields_get`, and `name_search`'s own refusal) instead of guessing from the version.
@Suite("Odoo Online releases: names from the database")
struct OdooDialectTests {
    typealias Support = OdooPartnerTestSupport
    typealias Payments = OdooPaymentTests

    @Test func anOnlineReleaseWithTheNextMajorsNamesIsSpokenToInThem() async throws {
        try await Support.withOdoo(version: 19, onlineRelease: "saas~18.3") { simulator, client in
            let version = try await client.serverVersion(logger: Support.logger)
            #expect(version.major == 18 && version.minor == 3 && version.isOnlineRelease)
            // By the version alone these would be 18's: tax_id, args.
            #expect(try await client.saleLineTaxField(logger: Support.logger) == "tax_ids")
            #expect(try await client.paymentMemoField(logger: Support.logger) == "memo")
            #expect(try await client.paymentCancelledState(logger: Support.logger) == "canceled")
            #expect(try await client.listsMatchedPayments(logger: Support.logger))

            _ = try await Support.company(client, "Searchable")
            simulator.resetCalls()
            let found = try await client.nameSearch(model: "res.partner", name: "Searchable", logger: Support.logger)
            #expect(found.count == 1)
            let again = try await client.nameSearch(model: "res.partner", name: "Searchable", logger: Support.logger)
            #expect(again.count == 1)
            // Refused once with 18's parameter, then asked with 19's, which is kept.
            #expect(simulator.calls.filter { $0.odooMethod == "name_search" }.map(\.status) == [422, 200, 200])

            // A payment registers and is found again under the release's names.
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            let invoice = try await Payments.invoice(client, "in_1", partner: a)
            let command = Payments.command("py_1", invoice: "in_1", cents: invoice.residual, number: 1)
            let first = await target.deliver([command], logger: Support.logger)
            #expect(Payments.paymentIDs(first).allSatisfy { $0 != nil }, "\(first)")
            let second = await target.deliver([command], logger: Support.logger)
            #expect(Payments.paymentIDs(second) == Payments.paymentIDs(first))
            #expect(simulator.records(model: "account.payment").count == 1)
        }
    }

    /// Odoo Online upgrades a database in place under a running Weft: a name the database no longer has makes Weft read
    /// its version and fields again, so the next command speaks the new release's names.
    @Test func aNameTheDatabaseNoLongerHasMakesWeftAskAgain() async throws {
        try await Support.withOdoo(version: 19, onlineRelease: "saas~18.3") { _, client in
            #expect(try await client.saleLineTaxField(logger: Support.logger) == "tax_ids")
            #expect(client.cache.fields(of: "sale.order.line") != nil && client.cache.version != nil)
            let partner = try await Support.company(client, "Upgraded")
            await #expect(throws: OdooError.self) {
                try await client.write(model: "res.partner", ids: [partner], values: ["tax_id": 1], logger: Support.logger)
            }
            // The fields are forgotten; the version was read again at once, to see whether the release changed.
            #expect(client.cache.fields(of: "sale.order.line") == nil)
            #expect(try await client.saleLineTaxField(logger: Support.logger) == "tax_ids")
        }
    }

    /// A name refused because the database was upgraded under the call is a call to make again (transient); one
    /// refused by the same release is Odoo's rejection, as before.
    @Test func aNameRefusedAcrossAnUpgradeIsTriedAgainNotRejected() async throws {
        try await Support.withOdoo(version: 19, onlineRelease: "saas~18.3") { simulator, client in
            let partner = try await Support.company(client, "Upgraded")
            _ = try await client.serverVersion(logger: Support.logger)
            do {
                try await client.write(model: "res.partner", ids: [partner], values: ["tax_id": 1], logger: Support.logger)
                Issue.record("the write of an unknown field succeeded")
            } catch let error as OdooError {
                #expect(!error.isTransient, "\(error)")
            }
            simulator.upgrade(toOnlineRelease: "saas~18.4")
            do {
                try await client.write(model: "res.partner", ids: [partner], values: ["tax_id": 1], logger: Support.logger)
                Issue.record("the write of an unknown field succeeded")
            } catch let error as OdooError {
                #expect(error.isTransient, "\(error)")
                #expect(error.message.contains("upgraded from saas~18.3"), "\(error.message)")
            }
            #expect(try await client.serverVersion(logger: Support.logger).minor == 4)
        }
    }

    @Test func anOnlineReleaseWithItsOwnMajorsNamesKeepsThem() async throws {
        try await Support.withOdoo(transport: .jsonrpc, version: 18, onlineRelease: "saas~18.1") { simulator, client in
            let version = try await client.serverVersion(logger: Support.logger)
            #expect(version.major == 18 && version.minor == 1)
            #expect(try await client.saleLineTaxField(logger: Support.logger) == "tax_id")
            _ = try await Support.company(client, "Searchable")
            simulator.resetCalls()
            #expect(try await client.nameSearch(model: "res.partner", name: "Searchable", logger: Support.logger).count == 1)
            #expect(simulator.calls.filter { $0.odooMethod == "name_search" }.count == 1)
        }
    }

    /// A stable release is known by its version: no `fields_get`.
    @Test func aStableReleaseIsNotAsked() async throws {
        try await Support.withOdoo(version: 19) { simulator, client in
            let version = try await client.serverVersion(logger: Support.logger)
            #expect(!version.isOnlineRelease)
            #expect(try await client.saleLineTaxField(logger: Support.logger) == "tax_ids")
            #expect(try await client.paymentMemoField(logger: Support.logger) == "memo")
            #expect(!simulator.calls.contains { $0.odooMethod == "fields_get" })
        }
    }
}

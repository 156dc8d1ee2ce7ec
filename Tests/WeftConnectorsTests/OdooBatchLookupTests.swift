import AsyncHTTPClient
import Foundation
import Logging
import Synchronization
import Testing
import WeftCore
import WeftSimKit
import WeftSimOdoo

@testable import WeftConnectors

/// A delivery batch reads the external ids of every record its commands look for in one lookup, then keeps what it
/// binds; it never trusts that view to decide that a record is missing.
@Suite("Odoo batches: one external-id lookup for the whole batch")
struct OdooBatchLookupTests {
    typealias Support = OdooPartnerTestSupport

    /// Runs `action` once, just before the `at`-th request the client sends (another node acting meanwhile).
    final class ActOnceGate: RequestGate {
        private let state = Mutex<(sent: Int, at: Int, action: (@Sendable () async -> Void)?)>((0, 0, nil))

        func arm(at request: Int, _ action: @escaping @Sendable () async -> Void) {
            state.withLock { $0 = (0, request, action) }
        }

        func acquire() async throws {
            let action = state.withLock { state -> (@Sendable () async -> Void)? in
                state.sent += 1
                guard state.sent == state.at, let action = state.action else { return nil }
                state.action = nil
                return action
            }
            await action?()
        }

        func didReceiveRateLimit(retryAfter: Duration?) {}
    }

    static func customerCommand(_ id: String, number: Int64) -> OutboxCommand {
        let customer = Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: "cus_\(id)"), name: "Customer \(id)")
        return OutboxCommand(
            id: CommandID(number), target: "odoo", entityKey: EntityKey.of(customer.ref), idempotencyKey: IdempotencyKey("cus-\(number)"),
            payload: .upsertCustomer(customer), traceID: TraceID("trace"), attempts: 0, createdAt: OdooPaymentTests.day)
    }

    static func delivered(_ outcomes: [DeliveryOutcome]) -> Bool {
        outcomes.allSatisfy { if case .delivered = $0 { true } else { false } }
    }

    /// A new customer, its invoice and the invoice's payment in one batch: the partner step, the invoice step (its
    /// partner and its own key) and the payment step (its invoice and its own key) each looked their external ids up
    /// on their own, five lookups; now the batch's first lookup and what the batch bound answer them all.
    @Test func aBatchOfACustomerItsInvoiceAndItsPaymentLooksExternalIDsUpOnce() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            // Weft's invoice lines carry no Odoo tax: 100.00 is what is due.
            let invoice = OdooInvoiceTests.command("in_1", cents: 10_000, number: 2)
            simulator.requestLog.reset()
            let outcomes = await target.deliver(
                [
                    Self.customerCommand("in_1", number: 1), invoice,
                    OdooPaymentTests.command("py_1", invoice: "in_1", cents: 10_000, number: 3),
                ], logger: Support.logger)
            #expect(Self.delivered(outcomes), "\(outcomes)")
            let lookups = simulator.requestLog.all.filter { $0.path.hasSuffix("/ir.model.data/search_read") }
            #expect(lookups.count == 1)

            let move = try #require(OdooInvoiceTests.move(simulator, ref: "in_1"))
            #expect(move["payment_state"]?.stringValue == "paid")
            let customer = ExternalRef(system: "stripe", kind: .customer, id: "cus_in_1").xmlidName
            #expect(simulator.records(model: "res.partner").filter { $0["ref"]?.stringValue == customer }.count == 1)
            #expect(Support.boundID(simulator, customer) == move["partner_id"]?.arrayValue?.first?.intValue)
            #expect(Support.boundID(simulator, OdooPaymentTests.key("py_1")) != nil)
        }
    }

    /// The batch read a name as unbound; another node bound it before the batch did. The binding is refused, and the
    /// name is forgotten, so the next lookup of the batch reads what the other node bound rather than "unbound".
    @Test func aNameFoundTakenWhenBindingIsReadAgainNotRemembered() async throws {
        try await Support.withOdoo { _, client in
            let batch = client.remembering(OdooExternalIDMemo())
            let name = "stripe_customer_cus_taken"
            #expect(try await batch.externalIDRows([name], logger: Support.logger).isEmpty)
            let ours = try await Support.company(client, "Ours")
            let theirs = try await Support.company(client, "Theirs", bound: name)

            let taken = try await batch.bindExternalIDs([(name, ours)], model: "res.partner", logger: Support.logger)
            #expect(taken == [name])
            #expect(try await batch.externalIDs([name], model: "res.partner", logger: Support.logger)[name] == theirs)
        }
    }

    /// What the batch binds it knows, without asking Odoo again.
    @Test func whatTheBatchBindsIsAnsweredWithoutAskingAgain() async throws {
        try await Support.withOdoo { simulator, client in
            let batch = client.remembering(OdooExternalIDMemo())
            let id = try await Support.company(client, "Bound here")
            try await batch.bindExternalIDs([("stripe_customer_cus_here", id)], model: "res.partner", logger: Support.logger)
            simulator.requestLog.reset()
            #expect(
                try await batch.externalIDs(["stripe_customer_cus_here"], model: "res.partner", logger: Support.logger) == [
                    "stripe_customer_cus_here": id
                ])
            #expect(try await batch.externalIDs(["stripe_customer_cus_here"], model: "product.product", logger: Support.logger).isEmpty)
            #expect(simulator.requestLog.all.isEmpty)
        }
    }

    /// The batch read the payment's key as unbound; another node then registered the same payment and bound it. The
    /// batch still finds the invoice paid when it reads it, and registers nothing more: one payment.
    @Test func aPaymentAnotherNodeRegisteredAfterTheBatchLookedIsNotRegisteredTwice() async throws {
        let gate = ActOnceGate()
        try await Support.withOdoo(gate: gate) { simulator, client in
            let partner = try await Support.company(client, "A")
            let invoice = try await OdooPaymentTests.invoice(client, "in_1", partner: partner)
            let command = OdooPaymentTests.command("py_1", invoice: "in_1", cents: invoice.residual, number: 1)
            let otherNode = OdooTarget(client: OdooClient(configuration: client.configuration, httpClient: .shared))
            // Request 1 is the batch's lookup; before request 2, the other node delivers the same payment.
            gate.arm(at: 2) {
                let outcomes = await otherNode.deliver([command], logger: Support.logger)
                #expect(Self.delivered(outcomes), "\(outcomes)")
            }
            let outcomes = await OdooTarget(client: client).deliver([command], logger: Support.logger)
            #expect(Self.delivered(outcomes), "\(outcomes)")
            let payments = simulator.records(model: "account.payment").filter { $0["state"]?.stringValue != "canceled" }
            #expect(payments.count == 1)
            let move = Support.record(simulator, "account.move", invoice.id)
            #expect(move["payment_state"]?.stringValue == "paid")
        }
    }

    /// The `ir.model.data` row that binds `name`: its model and record.
    static func binding(_ simulator: OdooSimulator, _ name: String) -> (model: String?, id: Int64?)? {
        simulator.records(model: "ir.model.data").first { $0["name"]?.stringValue == name }.map {
            ($0["model"]?.stringValue, $0["res_id"]?.intValue)
        }
    }

    /// A batch of a payment of open invoice `in_2` and a refund of half of paid invoice `in_1`, both of one partner.
    static func paymentAndRefund(_ client: OdooClient, _ target: OdooTarget) async throws -> [OutboxCommand] {
        let partner = try await Support.company(client, "A")
        let paid = try await OdooRefundTests.paidInvoices(["in_1"], partner: partner, target: target)
        let open = try await OdooPaymentTests.invoice(client, "in_2", partner: partner)
        return [
            OdooPaymentTests.command("py_2", invoice: "in_2", cents: open.residual, number: 1),
            OdooRefundTests.command("re_1", invoice: "in_1", cents: paid[0].residual / 2, number: 2),
        ]
    }

    /// A payment of one invoice and a refund of another, in one batch: the payment's and the credit note's external
    /// ids (bookkeeping, each findable without it) are created in one call once both steps are done, each naming its
    /// own model.
    @Test func aBatchBindsItsPaymentsAndCreditNotesInOneCall() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let batch = try await Self.paymentAndRefund(client, target)
            simulator.requestLog.reset()
            let outcomes = await target.deliver(batch, logger: Support.logger)
            #expect(Self.delivered(outcomes), "\(outcomes)")
            #expect(simulator.requestLog.all.filter { $0.path.hasSuffix("/ir.model.data/create") }.count == 1)

            let payment = try #require(Self.binding(simulator, OdooPaymentTests.key("py_2")))
            #expect(payment.model == "account.payment")
            #expect(payment.id == OdooPaymentTests.paymentIDs(outcomes)[0])
            let refund = ExternalRef(system: "stripe", kind: .refund, id: "re_1").xmlidName
            let creditNote = try #require(Self.binding(simulator, refund))
            #expect(creditNote.model == "account.move")
            #expect(creditNote.id == OdooRefundTests.creditNoteIDs(outcomes)[1])
        }
    }

    /// The batch's one bookkeeping call fails: the payment and the credit note are made, so their commands are
    /// delivered; delivered again, they find both by their key fields (nothing is made twice) and bind them then.
    @Test func aFailedBookkeepingCallLeavesTheBatchDeliveredAndIsMadeUpLater() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let batch = try await Self.paymentAndRefund(client, target)
            let refund = ExternalRef(system: "stripe", kind: .refund, id: "re_1").xmlidName
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503, pathPrefix: "/json/2/ir.model.data/create"))
            let first = await target.deliver(batch, logger: Support.logger)
            simulator.faults.clear()
            #expect(Self.delivered(first), "\(first)")
            #expect(Self.binding(simulator, OdooPaymentTests.key("py_2")) == nil)
            #expect(Self.binding(simulator, refund) == nil)

            func payments() -> Int {
                simulator.records(model: "account.payment").filter { $0["state"]?.stringValue != "canceled" }.count
            }
            let paymentsBefore = payments()
            let again = await target.deliver(batch, logger: Support.logger)
            #expect(Self.delivered(again), "\(again)")
            #expect(payments() == paymentsBefore)
            #expect(OdooRefundTests.creditNotes(simulator).count == 1)
            #expect(Self.binding(simulator, OdooPaymentTests.key("py_2"))?.id == OdooPaymentTests.paymentIDs(first)[0])
            #expect(Self.binding(simulator, refund)?.id == OdooRefundTests.creditNoteIDs(first)[1])
        }
    }
}

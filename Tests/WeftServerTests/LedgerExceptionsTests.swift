import Foundation
import Logging
import Testing
import WeftCore
import WeftServer
import WeftStoreSQLite

/// A command of the billing-to-ERP path that ended as a dead letter is a business exception an operator can list, with
/// the target's reason, until a replay delivers it.
@Suite("Business exceptions of the ledger path")
struct LedgerExceptionsTests {
    @Test func aDeadPaymentIsListedWithTheTargetsReasonUntilItIsReplayed() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "weft.test"))
        let t0 = Date(timeIntervalSince1970: 1_780_000_000)
        _ = try await store.append([
            IncomingEvent(
                system: "stripe", eventID: SourceEventID("evt_1"), type: "invoice.paid", entityKey: EntityKey("k1"),
                occurredAt: t0, receivedAt: t0, payload: Data("{}".utf8), traceID: TraceID("t1"))
        ])
        let event = try #require(try await store.claimEvents(limit: 1, owner: "p", lease: .seconds(60), now: t0).first)
        let payment = Payment(
            ref: ExternalRef(system: "stripe", kind: .payment, id: "py_1"),
            customerRef: ExternalRef(system: "stripe", kind: .customer, id: "cus_1"),
            invoiceRef: ExternalRef(system: "stripe", kind: .invoice, id: "in_1"),
            amount: Money(amountMinor: 4000, currency: .usd), status: .succeeded, occurredAt: t0)
        try await store.commitProcessed(
            [
                ProcessedEvent(
                    seq: event.seq, entityKey: event.entityKey, aggregate: nil, expectedVersion: nil,
                    commands: [
                        NewCommand(
                            target: "odoo", entityKey: EntityKey("k1"), idempotencyKey: IdempotencyKey("c1"),
                            payload: .registerPayment(payment))
                    ], status: .done, outcome: "applied", traceID: event.traceID)
            ], owner: "p", now: t0)
        let exceptions = BusinessExceptions(store: store, requirements: [:], crmSystems: [])
        #expect(try await exceptions.list().isEmpty, "a command still pending is no exception")

        let claimed = try await store.claimCommands(target: "odoo", limit: 1, owner: "d", lease: .seconds(60), now: t0)
        let reason = "Odoo holds payment 7 of 10.00 USD for stripe/payment/py_1, which stripe says is 40.00 USD"
        try await store.completeCommands(
            [
                CommandResult(
                    id: try #require(claimed.first?.id),
                    transition: .dead(failure: DeliveryFailure(kind: .rejected, message: reason)), subject: payment.ref)
            ], owner: "d", now: t0)
        let listed = try await exceptions.list()
        #expect(listed.map(\.type) == ["invoice_paid_in_billing_not_in_erp"])
        #expect(listed.first?.subject == "stripe/payment/py_1")
        #expect(listed.first?.problems.first?.contains(reason) == true, "\(listed)")

        #expect(try await store.replayDeadCommands(filter: CommandFilter(), actor: "ops", now: t0).replayed == 1)
        #expect(try await exceptions.list().isEmpty, "a replayed command is no longer an exception")
    }
}

import Foundation
import Logging
import Testing
import WeftCore
import WeftSimKit
import WeftSimOdoo

@testable import WeftConnectors

/// Payments reach Odoo through its "Register payment" wizard: those that settle their invoice on one day share one
/// wizard (one payment per invoice), any other gets a wizard of its own; none is ever registered twice.
@Suite("Odoo payments: one wizard for the invoices a batch pays in full")
struct OdooPaymentTests {
    typealias Support = OdooPartnerTestSupport

    static let day = Date(timeIntervalSince1970: 1_780_000_000)

    static func invoiceRef(_ id: String) -> ExternalRef { ExternalRef(system: "stripe", kind: .invoice, id: id) }

    /// A posted customer invoice of 100.00 (before tax) found by its `ref`, as Weft creates them; returns its id and
    /// what is left to pay, in cents.
    static func invoice(_ client: OdooClient, _ id: String, partner: Int64) async throws -> (id: Int64, residual: Int64) {
        let move = try await client.create(
            model: "account.move",
            values: [
                [
                    "move_type": "out_invoice", "partner_id": .int(partner), "ref": .string(invoiceRef(id).xmlidName),
                    "invoice_line_ids": [[0, 0, ["name": "Work", "quantity": 1, "price_unit": 100.0]]],
                ]
            ], logger: Support.logger)[0]
        _ = try await client.call(model: "account.move", method: "action_post", ids: [move], logger: Support.logger)
        let residual = try await client.read(model: "account.move", ids: [move], fields: ["amount_residual"], logger: Support.logger)
        let amount = try #require(residual.first?["amount_residual"]?.doubleValue)
        return (move, Money.fromMajorUnits(amount, currency: .usd).amountMinor)
    }

    /// The key (external id name, and memo of a payment registered alone) of Stripe payment `id`.
    static func key(_ id: String) -> String { ExternalRef(system: "stripe", kind: .payment, id: id).xmlidName }

    static func command(_ payment: String, invoice: String, cents: Int64, number: Int64, at date: Date = day) -> OutboxCommand {
        let ref = ExternalRef(system: "stripe", kind: .payment, id: payment)
        let customer = ExternalRef(system: "stripe", kind: .customer, id: "cus_\(invoice)")
        return OutboxCommand(
            id: CommandID(number), target: "odoo", entityKey: EntityKey.of(customer), idempotencyKey: IdempotencyKey("pay-\(number)"),
            payload: .registerPayment(
                Payment(
                    ref: ref, customerRef: customer, invoiceRef: invoiceRef(invoice), amount: Money(amountMinor: cents, currency: .usd),
                    status: .succeeded, occurredAt: date)),
            traceID: TraceID("trace"), attempts: 0, createdAt: date)
    }

    /// Two posted invoices of company A (`in_1`, `in_2`) and a payment settling each (`py_1`, `py_2`).
    static func twoInvoicesAndTheirPayments(
        _ client: OdooClient
    ) async throws -> (first: (id: Int64, residual: Int64), second: (id: Int64, residual: Int64), commands: [OutboxCommand]) {
        let a = try await Support.company(client, "A")
        let first = try await invoice(client, "in_1", partner: a)
        let second = try await invoice(client, "in_2", partner: a)
        let commands = [
            command("py_1", invoice: "in_1", cents: first.residual, number: 1),
            command("py_2", invoice: "in_2", cents: second.residual, number: 2),
        ]
        return (first, second, commands)
    }

    static func paymentIDs(_ outcomes: [DeliveryOutcome]) -> [Int64?] {
        outcomes.map { outcome in
            guard case .delivered(let record?, _) = outcome, record.model == "account.payment" else { return nil }
            return Int64(record.id)
        }
    }

    /// The shared wizard paid its invoices, then the next request was cancelled (a graceful shutdown ended its wait at
    /// the rate limit): the payments are retried later, which finds their invoices paid. Registering each alone in the
    /// same attempt, as after Odoo refuses the shared wizard, found nothing left to pay and dead-lettered payments Odoo
    /// holds (the multi-node crash test caught it).
    @Test func aCancellationAfterTheSharedWizardPaidIsRetriedNotRefused() async throws {
        let gate = Support.CancelOnceGate()
        try await Support.withOdoo(gate: gate) { simulator, client in
            let (first, second, commands) = try await Self.twoInvoicesAndTheirPayments(client)
            let target = OdooTarget(client: client)
            gate.arm { simulator.records(model: "account.payment").count == 2 }
            let outcomes = await target.deliver(commands, logger: Support.logger)
            #expect(gate.refused == 1)
            #expect(outcomes.allSatisfy { if case .retry = $0 { true } else { false } }, "\(outcomes)")

            let again = await target.deliver(commands, logger: Support.logger)
            #expect(again.allSatisfy { if case .delivered = $0 { true } else { false } }, "\(again)")
            #expect(simulator.records(model: "account.payment").count == 2)
            for invoice in [first, second] {
                #expect(Support.record(simulator, "account.move", invoice.id)["payment_state"] == "paid")
            }
        }
    }

    @Test func paymentsThatSettleTheirInvoicesShareOneWizardWithOnePaymentPerInvoice() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            let b = try await Support.company(client, "B")
            let first = try await Self.invoice(client, "in_1", partner: a)
            let second = try await Self.invoice(client, "in_2", partner: a)
            let third = try await Self.invoice(client, "in_3", partner: b)
            let partial = try await Self.invoice(client, "in_4", partner: b)
            simulator.requestLog.reset()

            let target = OdooTarget(client: client)
            let commands = [
                Self.command("py_1", invoice: "in_1", cents: first.residual, number: 1),
                Self.command("py_2", invoice: "in_2", cents: second.residual, number: 2),
                Self.command("py_3", invoice: "in_3", cents: third.residual, number: 3),
                // Part of what is due: a wizard of its own, for that amount.
                Self.command("py_4", invoice: "in_4", cents: 1000, number: 4),
            ]
            let outcomes = await target.deliver(commands, logger: Support.logger)
            let ids = Self.paymentIDs(outcomes)
            #expect(ids.allSatisfy { $0 != nil }, "\(outcomes)")
            #expect(Set(ids.compactMap { $0 }).count == 4)

            for (invoice, state) in [(first.id, "paid"), (second.id, "paid"), (third.id, "paid"), (partial.id, "partial")] {
                #expect(Support.record(simulator, "account.move", invoice)["payment_state"] == .string(state))
            }
            // Each payment is its invoice's, for the whole residual, its memo the invoice's number.
            for (index, invoice) in [first, second, third].enumerated() {
                let payment = Support.record(simulator, "account.payment", try #require(ids[index]))
                #expect(payment["reconciled_invoice_ids"] == .array([.int(invoice.id)]))
                #expect(payment["amount"]?.doubleValue == Money(amountMinor: invoice.residual, currency: .usd).majorUnits)
                #expect(payment["memo"] == Support.record(simulator, "account.move", invoice.id)["name"])
            }
            let alone = Support.record(simulator, "account.payment", try #require(ids[3]))
            #expect(alone["memo"] == .string(Self.key("py_4")))
            #expect(alone["amount"]?.doubleValue == 10)
            // Each payment is bound to its Stripe payment.
            for (index, id) in ["py_1", "py_2", "py_3", "py_4"].enumerated() {
                #expect(Support.boundID(simulator, ExternalRef(system: "stripe", kind: .payment, id: id).xmlidName) == ids[index])
            }
            let paths = simulator.requestLog.all.map(\.path)
            #expect(paths.filter { $0.hasSuffix("account.payment.register/create") }.count == 2)
            #expect(paths.filter { $0.hasSuffix("account.payment.register/action_create_payments") }.count == 2)

            // Delivered again (a retry after a lost answer): nothing new in Odoo.
            let payments = simulator.records(model: "account.payment").count
            let again = await target.deliver(commands, logger: Support.logger)
            #expect(again.allSatisfy { if case .delivered = $0 { true } else { false } }, "\(again)")
            #expect(simulator.records(model: "account.payment").count == payments)
        }
    }

    @Test func aLonePaymentInFullKeepsItsOwnWizardAndMemo() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            let invoice = try await Self.invoice(client, "in_1", partner: a)
            let outcomes = await OdooTarget(client: client).deliver(
                [Self.command("py_1", invoice: "in_1", cents: invoice.residual, number: 1)], logger: Support.logger)
            let id = try #require(Self.paymentIDs(outcomes).first ?? nil)
            let memo = Self.key("py_1")
            #expect(Support.record(simulator, "account.payment", id)["memo"] == .string(memo))
        }
    }

    /// A payment Odoo already holds under its key for less than the source now says, on an invoice still open: Odoo's
    /// books miss money, and the command is refused with what to fix, changing nothing. Odoo holding more, or the
    /// invoice paid in Odoo by then, is no gap.
    @Test func aPaymentOdooHoldsForLessOnAnOpenInvoiceIsRefusedWithWhatToFix() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            let invoice = try await Self.invoice(client, "in_1", partner: a)
            let target = OdooTarget(client: client)
            let first = await target.deliver(
                [Self.command("py_1", invoice: "in_1", cents: 1000, number: 1)], logger: Support.logger)
            let held = try #require(Self.paymentIDs(first).first ?? nil)
            let residual = Support.record(simulator, "account.move", invoice.id)["amount_residual"]

            let more = await target.deliver(
                [Self.command("py_1", invoice: "in_1", cents: 4000, number: 2)], logger: Support.logger)
            guard case .reject(let failure) = more.first else {
                Issue.record("expected a refusal, got \(more)")
                return
            }
            #expect(failure.message.contains("Odoo holds payment \(held) of 10.00 USD"), "\(failure.message)")
            #expect(failure.message.contains("says is 40.00 USD"), "\(failure.message)")
            #expect(failure.message.contains("correct that payment's amount in Odoo"))
            #expect(simulator.records(model: "account.payment").count == 1)
            #expect(Support.record(simulator, "account.move", invoice.id)["amount_residual"] == residual)

            // Odoo holding more than the source says: found, nothing new.
            let less = await target.deliver([Self.command("py_1", invoice: "in_1", cents: 500, number: 3)], logger: Support.logger)
            #expect(Self.paymentIDs(less) == [held])

            // Once the rest is paid in Odoo (here under another key), the invoice is settled there: no gap to report.
            let rest = await target.deliver(
                [Self.command("py_2", invoice: "in_1", cents: invoice.residual - 1000, number: 4)], logger: Support.logger)
            #expect(Self.paymentIDs(rest).first ?? nil != nil, "\(rest)")
            #expect(Support.record(simulator, "account.move", invoice.id)["payment_state"] == .string("paid"))
            let settled = await target.deliver(
                [Self.command("py_1", invoice: "in_1", cents: 4000, number: 5)], logger: Support.logger)
            #expect(Self.paymentIDs(settled) == [held])
            #expect(simulator.records(model: "account.payment").count == 2)
        }
    }

    /// A payment an accountant cancels in Odoo pays nothing: it no longer counts as the payment's, so a replay
    /// registers it again (a new payment under the same memo, its external id moved to it) and the invoice is paid
    /// again; replaying once more finds that one. Before, the cancelled payment was "found" and the replay changed
    /// nothing.
    @Test func aPaymentCancelledInOdooIsRegisteredAgainOnReplay() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            let invoice = try await Self.invoice(client, "in_1", partner: a)
            let target = OdooTarget(client: client)
            let command = Self.command("py_1", invoice: "in_1", cents: 4000, number: 1)
            let first = try #require(Self.paymentIDs(await target.deliver([command], logger: Support.logger)).first ?? nil)
            _ = try await client.call(model: "account.payment", method: "action_cancel", ids: [first], logger: Support.logger)
            #expect(Support.record(simulator, "account.payment", first)["state"] == .string("canceled"))
            #expect(Support.record(simulator, "account.move", invoice.id)["payment_state"] == .string("not_paid"))

            let replayed = try #require(Self.paymentIDs(await target.deliver([command], logger: Support.logger)).first ?? nil)
            #expect(replayed != first)
            let payment = Support.record(simulator, "account.payment", replayed)
            #expect(payment["memo"] == .string(Self.key("py_1")))
            #expect(payment["amount"] == .double(40))
            #expect(Support.boundID(simulator, Self.key("py_1")) == replayed)
            #expect(Support.record(simulator, "account.move", invoice.id)["payment_state"] == .string("partial"))

            let again = await target.deliver([command], logger: Support.logger)
            #expect(Self.paymentIDs(again) == [replayed])
            #expect(simulator.records(model: "account.payment").count == 2)
        }
    }

    /// A payment of a shared wizard has its invoice's number as memo, so only its external id names it. When its invoice
    /// is open again while it still stands (here reset to draft by an accountant, which unreconciles it), a replay finds
    /// it by that binding instead of registering a second payment, and refuses with what to fix: the payment pays
    /// nothing while it is a draft. Cancelled, it no longer counts, and the replay registers the payment again.
    @Test func aPaymentOfASharedWizardIsFoundByItsBindingWhenItsInvoiceIsOpenAgain() async throws {
        try await Support.withOdoo { simulator, client in
            let (first, _, commands) = try await Self.twoInvoicesAndTheirPayments(client)
            let target = OdooTarget(client: client)
            let ids = Self.paymentIDs(await target.deliver(commands, logger: Support.logger))
            let paid = try #require(ids[0])
            #expect(
                Support.record(simulator, "account.payment", paid)["memo"]
                    != .string(Self.key("py_1")))
            _ = try await client.call(model: "account.payment", method: "action_draft", ids: [paid], logger: Support.logger)
            #expect(Support.record(simulator, "account.move", first.id)["payment_state"] == .string("not_paid"))

            let replayed = await target.deliver([commands[0]], logger: Support.logger)
            guard case .reject(let failure) = replayed.first else {
                Issue.record("expected a refusal, got \(replayed)")
                return
            }
            #expect(failure.kind == .rejected)
            #expect(failure.message.contains("Odoo holds payment \(paid)"), "\(failure.message)")
            #expect(failure.message.contains("it is in draft"), "\(failure.message)")
            #expect(failure.message.contains("post the payment and reconcile it with the invoice in Odoo"))
            #expect(simulator.records(model: "account.payment").count == 2)

            _ = try await client.call(model: "account.payment", method: "action_cancel", ids: [paid], logger: Support.logger)
            let registered = try #require(Self.paymentIDs(await target.deliver([commands[0]], logger: Support.logger)).first ?? nil)
            #expect(registered != paid)
            #expect(Support.boundID(simulator, Self.key("py_1")) == registered)
            #expect(Support.record(simulator, "account.move", first.id)["payment_state"] == .string("paid"))
        }
    }

    /// A payment an accountant unreconciled (here by resetting its invoice to draft and posting it again) still stands,
    /// posted, but pays nothing: the invoice is open in Odoo and paid in the source. A replay refuses with what to fix
    /// and registers nothing; once the accountant reconciles the payment with the invoice again (the invoice form's
    /// "Add" on the outstanding payment), the replay finds it and is delivered.
    @Test func aPaymentUnreconciledInOdooIsReportedNotRegisteredAgain() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            let invoice = try await Self.invoice(client, "in_1", partner: a)
            let target = OdooTarget(client: client)
            let command = Self.command("py_1", invoice: "in_1", cents: invoice.residual, number: 1)
            let paid = try #require(Self.paymentIDs(await target.deliver([command], logger: Support.logger)).first ?? nil)
            for method in ["button_draft", "action_post"] {
                _ = try await client.call(model: "account.move", method: method, ids: [invoice.id], logger: Support.logger)
            }
            #expect(Support.record(simulator, "account.move", invoice.id)["payment_state"] == .string("not_paid"))
            let payment = try await client.read(
                model: "account.payment", ids: [paid], fields: ["state", "is_reconciled", "move_id"], logger: Support.logger)
            #expect(payment.first?["is_reconciled"] == .bool(false))
            let entry = try #require(OdooMoves.many2oneID(payment.first?["move_id"]))

            let replayed = await target.deliver([command], logger: Support.logger)
            guard case .reject(let failure) = replayed.first else {
                Issue.record("expected a refusal, got \(replayed)")
                return
            }
            #expect(failure.message.contains("Odoo holds payment \(paid)"), "\(failure.message)")
            #expect(failure.message.contains("not reconciled"), "\(failure.message)")
            #expect(failure.message.contains("invoice \(Self.invoiceRef("in_1")) is still open there"), "\(failure.message)")
            #expect(simulator.records(model: "account.payment").count == 1)
            #expect(Support.record(simulator, "account.move", invoice.id)["payment_state"] == .string("not_paid"))

            let line = try #require(
                try await client.searchRead(
                    model: "account.move.line",
                    domain: [["move_id", "=", .int(entry)], ["account_id.account_type", "=", "asset_receivable"]], fields: ["id"],
                    limit: 1, logger: Support.logger
                ).first?["id"]?.intValue)
            _ = try await client.call(
                model: "account.move", method: "js_assign_outstanding_line", ids: [invoice.id], params: ["line_id": .int(line)],
                logger: Support.logger)
            #expect(Support.record(simulator, "account.move", invoice.id)["payment_state"] == .string("paid"))
            let again = await target.deliver([command], logger: Support.logger)
            #expect(Self.paymentIDs(again) == [paid], "\(again)")
            #expect(simulator.records(model: "account.payment").count == 1)
        }
    }

    @Test func anInvoiceWithPaymentTermsKeepsItsOwnWizardSoItsInstallmentsAreNotPaidSeparately() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            let first = try await Self.invoice(client, "in_1", partner: a)
            let second = try await Self.invoice(client, "in_2", partner: a)
            let termed = try await Self.invoice(client, "in_3", partner: a)
            let term = try #require(
                try await client.searchRead(
                    model: "account.payment.term", domain: [], fields: ["id"], limit: 1, order: "id", logger: Support.logger
                ).first?["id"]?.intValue)
            try await client.write(
                model: "account.move", ids: [termed.id], values: ["invoice_payment_term_id": .int(term)], logger: Support.logger)
            simulator.requestLog.reset()

            let outcomes = await OdooTarget(client: client).deliver(
                [
                    Self.command("py_1", invoice: "in_1", cents: first.residual, number: 1),
                    Self.command("py_2", invoice: "in_2", cents: second.residual, number: 2),
                    Self.command("py_3", invoice: "in_3", cents: termed.residual, number: 3),
                ], logger: Support.logger)
            let ids = Self.paymentIDs(outcomes)
            #expect(ids.allSatisfy { $0 != nil }, "\(outcomes)")
            // The two without terms share a wizard; the one with terms has its own, named after the Stripe payment.
            let paths = simulator.requestLog.all.map(\.path)
            #expect(paths.filter { $0.hasSuffix("account.payment.register/create") }.count == 2)
            let own = Support.record(simulator, "account.payment", try #require(ids[2]))
            #expect(own["memo"] == .string(Self.key("py_3")))
            #expect(own["reconciled_invoice_ids"] == .array([.int(termed.id)]))
            #expect(Support.record(simulator, "account.move", termed.id)["payment_state"] == .string("paid"))
        }
    }

    @Test func paymentsOfDifferentDaysAreRegisteredOnTheirOwnDays() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            var invoices: [(id: Int64, residual: Int64)] = []
            for index in 1...4 { invoices.append(try await Self.invoice(client, "in_\(index)", partner: a)) }
            let nextDay = Self.day.addingTimeInterval(86_400)
            let outcomes = await OdooTarget(client: client).deliver(
                invoices.enumerated().map { index, invoice in
                    Self.command(
                        "py_\(index + 1)", invoice: "in_\(index + 1)", cents: invoice.residual, number: Int64(index + 1),
                        at: index < 2 ? Self.day : nextDay)
                }, logger: Support.logger)
            let ids = Self.paymentIDs(outcomes)
            #expect(ids.allSatisfy { $0 != nil }, "\(outcomes)")
            let dates = try ids.map { try Support.record(simulator, "account.payment", #require($0))["date"]?.stringValue }
            #expect(dates == ["2026-05-28", "2026-05-28", "2026-05-29", "2026-05-29"])
        }
    }

    @Test func aSharedWizardThatFailsUnansweredLeavesEachPaymentToRetryAndTheRetryPaysEachOnce() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            let first = try await Self.invoice(client, "in_1", partner: a)
            let second = try await Self.invoice(client, "in_2", partner: a)
            let commands = [
                Self.command("py_1", invoice: "in_1", cents: first.residual, number: 1),
                Self.command("py_2", invoice: "in_2", cents: second.residual, number: 2),
            ]
            let target = OdooTarget(client: client)
            // The wizard may have run when its answer is lost: nothing is tried alone in the same attempt.
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503, pathPrefix: "/json/2/account.payment.register/"))
            simulator.requestLog.reset()
            let failed = await target.deliver(commands, logger: Support.logger)
            for outcome in failed {
                guard case .retry = outcome else {
                    Issue.record("expected a retry, got \(outcome)")
                    continue
                }
            }
            #expect(simulator.requestLog.all.filter { $0.path.hasSuffix("account.payment.register/create") }.count == 1)
            simulator.faults.clear()
            let outcomes = await target.deliver(commands, logger: Support.logger)
            #expect(Self.paymentIDs(outcomes).allSatisfy { $0 != nil }, "\(outcomes)")
            #expect(simulator.records(model: "account.payment").count == 2)
        }
    }

    @Test func aSharedWizardOdooRefusesIsTriedAgainOnePaymentAtATimeSoEachGetsItsOwnAnswer() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            let first = try await Self.invoice(client, "in_1", partner: a)
            let second = try await Self.invoice(client, "in_2", partner: a)
            // Odoo refuses every wizard (and rolls each back): the shared one, then each payment's own.
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 422, pathPrefix: "/json/2/account.payment.register/create"))
            simulator.requestLog.reset()
            let outcomes = await OdooTarget(client: client).deliver(
                [
                    Self.command("py_1", invoice: "in_1", cents: first.residual, number: 1),
                    Self.command("py_2", invoice: "in_2", cents: second.residual, number: 2),
                ], logger: Support.logger)
            for outcome in outcomes {
                guard case .reject(let failure) = outcome else {
                    Issue.record("expected a rejection, got \(outcome)")
                    continue
                }
                #expect(failure.kind == .rejected)
            }
            #expect(simulator.requestLog.all.filter { $0.path.hasSuffix("account.payment.register/create") }.count == 3)
            #expect(simulator.records(model: "account.payment").isEmpty)
        }
    }

    /// Odoo Accounting with a payment method line without an outstanding account (how a fresh 18/19 database with
    /// Accounting has them): the wizard's payments get no journal entry and leave their invoice `in_payment` with its
    /// residual whole. The rest of an invoice paid in part is still registered when it comes, and nothing is registered
    /// twice: not a payment delivered again, nor one of an invoice those payments already cover.
    @Test(arguments: [(18, OdooTransportKind.jsonrpc), (19, .json2)])
    func withOdooAccountingTheRestOfAPartPaidInvoiceIsRegisteredAndNothingTwice(
        version: Int, transport: OdooTransportKind
    ) async throws {
        try await Support.withOdoo(transport: transport, version: version, accounting: true) { simulator, client in
            let a = try await Support.company(client, "A")
            let whole = try await Self.invoice(client, "in_1", partner: a)
            let split = try await Self.invoice(client, "in_2", partner: a)
            let target = OdooTarget(client: client)
            let first = [
                Self.command("py_1", invoice: "in_1", cents: whole.residual, number: 1),
                Self.command("py_2", invoice: "in_2", cents: 4000, number: 2),
            ]
            let outcomes = await target.deliver(first, logger: Support.logger)
            #expect(Self.paymentIDs(outcomes).allSatisfy { $0 != nil }, "\(outcomes)")
            for invoice in [whole, split] {
                let move = Support.record(simulator, "account.move", invoice.id)
                #expect(move["payment_state"] == "in_payment")
                #expect(move["amount_residual"]?.doubleValue == Money(amountMinor: invoice.residual, currency: .usd).majorUnits)
            }
            let payments = simulator.records(model: "account.payment")
            #expect(payments.count == 2)
            #expect(payments.allSatisfy { $0["state"] == "in_process" && $0["move_id"] == .bool(false) })

            // The rest of the second invoice, paid later: registered, for that amount.
            let rest = Self.command("py_3", invoice: "in_2", cents: split.residual - 4000, number: 3)
            let restOutcomes = await target.deliver([rest], logger: Support.logger)
            let restID = try #require(Self.paymentIDs(restOutcomes).first ?? nil, "\(restOutcomes)")
            #expect(
                Support.record(simulator, "account.payment", restID)["amount"]?.doubleValue
                    == Money(amountMinor: split.residual - 4000, currency: .usd).majorUnits)
            #expect(Support.record(simulator, "account.move", split.id)["matched_payment_ids"]?.arrayValue?.count == 2)

            // All of them again, and another payment of the invoice already covered: nothing new in Odoo.
            let again = await target.deliver(
                first + [rest, Self.command("py_4", invoice: "in_1", cents: 1000, number: 4)], logger: Support.logger)
            #expect(again.allSatisfy { if case .delivered = $0 { true } else { false } }, "\(again)")
            #expect(simulator.records(model: "account.payment").count == 3)
        }
    }
}

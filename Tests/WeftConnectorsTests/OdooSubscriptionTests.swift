import Foundation
import Logging
import Testing
import WeftCore
import WeftSimOdoo

@testable import WeftConnectors

/// Subscriptions mirrored to Enterprise's `sale.order` with a plan.
@Suite("Odoo subscriptions")
struct OdooSubscriptionTests {
    typealias Support = OdooPartnerTestSupport

    static let customer = ExternalRef(system: "stripe", kind: .customer, id: "cus_S")
    static let subscription = ExternalRef(system: "stripe", kind: .subscription, id: "sub_S")

    static func command(_ status: SubscriptionStatus?, number: Int64) -> OutboxCommand {
        OutboxCommand(
            id: CommandID(number), target: "odoo", entityKey: EntityKey.of(customer),
            idempotencyKey: IdempotencyKey("subscription-\(number)"),
            payload: .upsertSubscription(Subscription(ref: subscription, customerRef: customer, status: status, items: [])),
            traceID: TraceID("trace"), attempts: 0, createdAt: Date(timeIntervalSince1970: 1_780_000_000))
    }

    static func orderState(_ simulator: OdooSimulator, _ outcome: DeliveryOutcome) throws -> String? {
        guard case .delivered(let record?, _) = outcome, let id = Int64(record.id) else {
            Issue.record("expected a delivered order, got \(outcome)")
            return nil
        }
        return Support.record(simulator, "sale.order", id)["state"]?.stringValue
    }

    /// A quotation that was emailed (`sent`) is cancelled when its subscription is: without `disable_cancel_warning`
    /// Odoo would answer the cancel wizard's action and cancel nothing, while the command counted as delivered.
    @Test(arguments: [OdooTransportKind.json2, .jsonrpc, .xmlrpc])
    func aSentQuotationIsCancelledWithItsSubscription(transport: OdooTransportKind) async throws {
        try await Support.withOdoo(transport: transport, enterprise: true) { simulator, client in
            let target = OdooTarget(client: client)
            _ = try await Support.company(client, "S", bound: Self.customer.xmlidName)
            let created = await target.deliver([Self.command(.incomplete, number: 1)], logger: Support.logger)
            #expect(try Self.orderState(simulator, created[0]) == "draft")
            guard case .delivered(let record?, _) = created[0], let order = Int64(record.id) else { return }
            try await client.write(model: "sale.order", ids: [order], values: ["state": "sent"], logger: Support.logger)

            let canceled = await target.deliver([Self.command(.canceled, number: 2)], logger: Support.logger)
            #expect(try Self.orderState(simulator, canceled[0]) == "cancel")
        }
    }

    /// Odoo's `action_cancel` itself: without the context, a sent quotation is answered with the wizard, unchanged.
    @Test func withoutTheContextOdooAnswersTheCancelWizard() async throws {
        try await Support.withOdoo(enterprise: true) { simulator, client in
            let partner = try await Support.company(client, "W")
            let order = try await client.create(
                model: "sale.order", values: [["partner_id": .int(partner), "state": "sent"]], logger: Support.logger)[0]
            let answer = try await client.call(model: "sale.order", method: "action_cancel", ids: [order], logger: Support.logger)
            #expect(answer["res_model"]?.stringValue == "sale.order.cancel")
            #expect(Support.record(simulator, "sale.order", order)["state"]?.stringValue == "sent")
        }
    }
}

import AsyncHTTPClient
import Foundation
import Testing
import WeftCore

@testable import WeftConnectors

@Suite("Odoo order status: what the CRM is told")
struct OdooOrderStatusTests {
    func invoice(_ state: String, _ payment: String, due: String = "2026-12-31") -> [String: JSONValue] {
        ["state": .string(state), "payment_state": .string(payment), "invoice_date_due": .string(due), "move_type": "out_invoice"]
    }

    func status(_ invoices: [[String: JSONValue]], order orderState: String = "sale") -> DealERPStatus {
        OdooOrderStatusReader.status(order: ["name": "S00042", "state": .string(orderState)], invoices: invoices, today: "2026-12-01")
    }

    @Test func invoicingAndPaymentMapToStableWords() {
        #expect(
            status([]) == DealERPStatus(orderRef: "S00042", orderState: "confirmed", invoiceStatus: "not_invoiced", paymentStanding: "good")
        )
        // A draft invoice is not an invoice yet.
        #expect(status([invoice("draft", "not_paid")]).invoiceStatus == "not_invoiced")
        #expect(status([invoice("posted", "not_paid")]).invoiceStatus == "invoiced")
        #expect(status([invoice("posted", "partial")]).invoiceStatus == "partially_paid")
        #expect(status([invoice("posted", "in_payment")]).invoiceStatus == "paid")
        #expect(status([invoice("posted", "paid"), invoice("posted", "not_paid")]).invoiceStatus == "invoiced")
        let overdue = status([invoice("posted", "paid"), invoice("posted", "partial", due: "2026-11-30")])
        #expect(overdue.invoiceStatus == "overdue")
        #expect(overdue.paymentStanding == "past_due")
        // Due today is not overdue; a cancelled invoice counts for nothing.
        #expect(status([invoice("posted", "not_paid", due: "2026-12-01")]).paymentStanding == "good")
        #expect(status([invoice("cancel", "not_paid", due: "2026-01-01")]).invoiceStatus == "not_invoiced")
        #expect(status([], order: "cancel").orderState == "cancelled")
        #expect(status([], order: "done").orderState == "locked")
    }

    @Test func orderKeysLeadBackToTheirDeals() {
        let reader = OdooOrderStatusReader(
            client: OdooClient(
                configuration: OdooConfiguration(url: "http://127.0.0.1:1", database: "x", login: "", apiKey: "", transport: .json2),
                httpClient: .shared),
            crmSystems: ["hubspot", "sales_force"])
        #expect(reader.deal(forKey: "hubspot_deal_42") == ExternalRef(system: "hubspot", kind: .deal, id: "42"))
        #expect(reader.deal(forKey: "sales_force_deal_006AB") == ExternalRef(system: "sales_force", kind: .deal, id: "006AB"))
        #expect(reader.deal(forKey: "stripe_subscription_sub_1") == nil)
        #expect(reader.deal(forKey: "hubspot_deal_") == nil)
        // `_` is escaped so that `=like` matches the prefix literally.
        #expect(
            OdooOrderStatusReader.keyDomain(["a", "b"])
                == ["|", ["client_order_ref", "=like", "a\\_deal\\_%"], ["client_order_ref", "=like", "b\\_deal\\_%"]])
    }
}

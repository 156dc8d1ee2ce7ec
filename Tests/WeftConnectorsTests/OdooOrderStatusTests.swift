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

    /// Odoo Accounting's payments without a journal entry leave an invoice `in_payment` with its residual whole: one
    /// they cover in full is paid, one they cover in part is partly paid (and overdue once due), as with payments that
    /// have an entry.
    @Test func anInvoiceInPaymentWithSomethingStillDueIsPartlyPaid() {
        func status(_ invoices: [[String: JSONValue]]) -> DealERPStatus {
            OdooOrderStatusReader.status(
                order: ["name": "S00042", "state": "sale"], invoices: invoices, today: "2026-12-01", unentered: [1: 115, 2: 40])
        }
        var covered = invoice("posted", "in_payment")
        covered["id"] = 1
        covered["amount_residual"] = 115
        var part = invoice("posted", "in_payment")
        part["id"] = 2
        part["amount_residual"] = 115
        #expect(status([covered]).invoiceStatus == "paid")
        #expect(status([part]).invoiceStatus == "partially_paid")
        part["invoice_date_due"] = "2026-11-30"
        let overdue = status([covered, part])
        #expect(overdue.invoiceStatus == "overdue")
        #expect(overdue.paymentStanding == "past_due")
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

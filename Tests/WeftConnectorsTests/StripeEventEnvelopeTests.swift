import Foundation
import Testing
import WeftConnectors
import WeftCore

@Suite("Stripe event envelope")
struct StripeEventEnvelopeTests {
    static func event(type: String, object: String, apiVersion: String = "2023-08-16") -> Data {
        Data(
            #"{"id":"evt_1","object":"event","api_version":"\#(apiVersion)","created":1700000000,"livemode":false,"type":"\#(type)","data":{"object":\#(object)},"request":{"id":null}}"#
                .utf8)
    }

    func key(_ type: String, _ object: String) throws -> String {
        try StripeEventEnvelope.parse(Self.event(type: type, object: object), system: "billing").entityKey.rawValue
    }

    @Test func readsTheEnvelope() throws {
        let envelope = try StripeEventEnvelope.parse(
            Self.event(
                type: "customer.updated", object: #"{"id":"cus_1","object":"customer","name":"Ada"}"#,
                apiVersion: "2026-07-29.dahlia"))
        #expect(envelope.id == SourceEventID("evt_1"))
        #expect(envelope.type == "customer.updated")
        #expect(envelope.created == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(envelope.apiVersion == "2026-07-29.dahlia")
        #expect(envelope.objectType == "customer")
        #expect(envelope.objectID == "cus_1")
        #expect(envelope.entityKey == EntityKey.of(ExternalRef(system: "stripe", kind: .customer, id: "cus_1")))
        let incoming = envelope.incomingEvent(
            system: "stripe", payload: Data("{}".utf8), receivedAt: Date(timeIntervalSince1970: 5), traceID: TraceID("t"))
        #expect(incoming.occurredAt == envelope.created && incoming.entityKey == envelope.entityKey)
    }

    @Test func keysEveryObjectOfACustomerByTheCustomer() throws {
        #expect(try key("customer.created", #"{"id":"cus_1","object":"customer"}"#) == "billing/customer/cus_1")
        #expect(try key("invoice.paid", #"{"id":"in_1","object":"invoice","customer":"cus_1"}"#) == "billing/customer/cus_1")
        #expect(
            try key(
                "customer.subscription.updated",
                #"{"id":"sub_1","object":"subscription","customer":{"id":"cus_2","object":"customer","name":"x"}}"#)
                == "billing/customer/cus_2")
        #expect(try key("charge.refunded", #"{"id":"ch_1","object":"charge","customer":"cus_3","amount":5}"#) == "billing/customer/cus_3")
        #expect(
            try key("invoice_payment.paid", #"{"id":"inpay_1","object":"invoice_payment","invoice":{"id":"in_1","customer":"cus_4"}}"#)
                == "billing/customer/cus_4")
    }

    /// Objects that name an invoice or a charge but not the customer get that record's provisional key, which the
    /// customer's entity adopts (the store then files them under the customer).
    @Test func keysCustomerlessObjectsByTheRecordTheyName() throws {
        #expect(
            try key("invoice_payment.paid", #"{"id":"inpay_1","object":"invoice_payment","invoice":"in_1"}"#) == "billing/invoice/in_1")
        #expect(try key("refund.created", #"{"id":"re_1","object":"refund","charge":"ch_9"}"#) == "billing/charge/ch_9")
        #expect(
            try key("refund.created", #"{"id":"re_1","object":"refund","charge":"ch_9","payment_intent":"pi_9"}"#)
                == "billing/payment/pi_9")
        #expect(
            try key("refund.updated", #"{"id":"re_1","object":"refund","charge":"ch_9","customer":"cus_5"}"#)
                == "billing/customer/cus_5")
    }

    @Test func keysProductsAndPricesByTheProduct() throws {
        #expect(try key("product.updated", #"{"id":"prod_1","object":"product","name":"T"}"#) == "billing/product/prod_1")
        #expect(try key("price.created", #"{"id":"price_1","object":"price","product":"prod_1"}"#) == "billing/product/prod_1")
        #expect(
            try key("price.created", #"{"id":"price_1","object":"price","product":{"id":"prod_2","object":"product"}}"#)
                == "billing/product/prod_2")
        #expect(try key("plan.created", #"{"id":"plan_1","object":"plan","product":"prod_3"}"#) == "billing/product/prod_3")
    }

    @Test func fallsBackToTheObjectsOwnID() throws {
        #expect(try key("refund.created", #"{"id":"re_1","object":"refund","customer":null}"#) == "billing/refund/re_1")
        #expect(try key("payment_intent.succeeded", #"{"id":"pi_1","object":"payment_intent"}"#) == "billing/payment/pi_1")
        #expect(
            try key("invoice_payment.paid", #"{"id":"inpay_1","object":"invoice_payment"}"#) == "billing/payment/inpay_1")
        #expect(try key("payout.paid", #"{"id":"po_1","object":"payout"}"#) == "billing/payout/po_1")
        #expect(try key("balance.available", #"{"object":"balance"}"#) == "billing/event/evt_1")
        // An odd shape in an unmapped object never rejects the webhook.
        #expect(try key("issuing.thing", #"{"id":"x_1","object":"thing","customer":{"weird":true},"product":7}"#) == "billing/thing/x_1")
    }

    @Test(arguments: [
        (#"{"object":"event","type":"x","created":1,"data":{"object":{}}}"#, "id"),
        (#"{"id":"evt_1","object":"event","created":1,"data":{"object":{}}}"#, "type"),
        (#"{"id":"evt_1","object":"event","type":"x","data":{"object":{}}}"#, "created"),
        (#"{"id":"evt_1","object":"event","type":"x","created":1,"data":{}}"#, "data.object"),
        (#"{"id":"evt_1","object":"event","type":"x","created":1}"#, "data.object"),
        (#"{"id":"cus_1","object":"customer","type":"x","created":1,"data":{"object":{}}}"#, "object"),
    ])
    func rejectsBodiesThatAreNotEvents(_ body: String, _ missing: String) {
        #expect(throws: StripeEventError(code: .notAnEvent, detail: missing)) {
            try StripeEventEnvelope.parse(Data(body.utf8))
        }
    }

    /// Ingress reads only the head of an event, but a body broken anywhere (here in the object's lines, which it
    /// skips) is still refused as JSON, as it was when the whole body was decoded.
    @Test func rejectsABodyBrokenInAMemberItSkips() {
        let body =
            #"{"id":"evt_1","object":"event","type":"invoice.paid","created":1,"#
            + #""data":{"object":{"id":"in_1","customer":"cus_1","lines":{"data":[{"amount":1 2}]}}}}"#
        #expect(throws: StripeEventError.self) { try StripeEventEnvelope.parse(Data(body.utf8)) }
        do {
            _ = try StripeEventEnvelope.parse(Data(body.utf8))
        } catch {
            #expect(error.code == .invalidJSON)
        }
    }

    @Test func rejectsNonJSONWithoutEchoingIt() {
        for body in ["not json secret", "[1,2]", #"{"id":5,"type":"x","created":1,"data":{"object":{}}}"#] {
            do {
                _ = try StripeEventEnvelope.parse(Data(body.utf8))
                Issue.record("expected a rejection")
            } catch {
                #expect(!error.description.contains("secret"))
            }
        }
    }
}

import Foundation
import Testing
import WeftConnectors
import WeftCore

/// Decodes Stripe's own example objects (github.com/stripe/openapi fixtures) in both the 2023-08-16 shape and the
/// current (2026-07-29.dahlia) shape. The fixtures live outside the repository (`../shared/reference/specs/stripe`);
/// the suite is skipped where they are absent.
/// Where the vendor fixtures are, when ../shared is beside the package.
let stripeFixtureDirectory: URL? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let directory = root.deletingLastPathComponent().appendingPathComponent("shared/reference/specs/stripe")
    let probe = directory.appendingPathComponent("fixtures3.json").path
    return FileManager.default.fileExists(atPath: probe) ? directory : nil
}()

@Suite("Stripe fixtures", .enabled(if: stripeFixtureDirectory != nil, "Stripe fixtures not found next to the package"))
struct StripeFixtureTests {
    typealias S = StripeTestSupport
    let decoder = StripeEventDecoder(system: "stripe")

    static var directory: URL? { stripeFixtureDirectory }

    /// The resource objects of one fixtures file, each as raw JSON.
    static func resources(_ file: String) throws -> [String: Data] {
        let url = try #require(directory).appendingPathComponent(file)
        let root = try JSONValue.parse(try Data(contentsOf: url))
        let resources = try #require(root["resources"]?.objectValue)
        return resources.mapValues { $0.serialized() }
    }

    func decode(_ type: String, _ object: Data, created: Int64 = 1_700_000_000) throws -> DecodedEvent {
        var payload = Data(
            #"{"id":"evt_fixture","object":"event","api_version":null,"created":\#(created),"type":"\#(type)","data":{"object":"#.utf8)
        payload.append(object)
        payload.append(contentsOf: "}}".utf8)
        return try decoder.decode(try S.inboxEvent(payload: payload))
    }

    static let mappings: [(resource: String, types: [String])] = [
        ("customer", ["customer.created", "customer.updated", "customer.deleted"]),
        ("tax_id", ["customer.tax_id.created"]),
        ("product", ["product.created", "product.updated", "product.deleted"]),
        ("price", ["price.created", "price.updated"]),
        ("plan", ["plan.updated"]),
        ("subscription", ["customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted"]),
        (
            "invoice",
            [
                "invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed",
                "invoice.voided",
            ]
        ),
        ("payment_intent", ["payment_intent.succeeded", "payment_intent.payment_failed"]),
        ("charge", ["charge.refunded"]),
        ("refund", ["refund.created", "refund.updated", "charge.refund.updated"]),
        ("invoice_payment", ["invoice_payment.paid"]),
    ]

    @Test(arguments: ["fixtures3.json", "fixtures3.2023-08-16.json"])
    func everyMappedResourceDecodes(_ file: String) throws {
        let resources = try Self.resources(file)
        for (resource, types) in Self.mappings {
            guard let object = resources[resource] else {
                #expect(resource == "invoice_payment" || resource == "plan", "\(file) lacks \(resource)")
                continue
            }
            for type in types {
                let decoded = try decode(type, object)
                for change in decoded.changes {
                    #expect(change.fields["ref"] == CanonicalCoding.jsonValue(change.ref), "\(file) \(type)")
                    #expect(change.version.millis == 1_700_000_000_000)
                }
                if decoded.changes.isEmpty { #expect(decoded.ignoredReason != nil, "\(file) \(type)") }
            }
        }
    }

    @Test(arguments: ["fixtures3.json", "fixtures3.2023-08-16.json"])
    func everyResourceHasAnEnvelope(_ file: String) throws {
        for (name, object) in try Self.resources(file) {
            var payload = Data(#"{"id":"evt_1","object":"event","created":1,"type":"x.y","data":{"object":"#.utf8)
            payload.append(object)
            payload.append(contentsOf: "}}".utf8)
            let envelope = try StripeEventEnvelope.parse(payload)
            #expect(envelope.entityKey.rawValue.hasPrefix("stripe/"), "\(name)")
        }
    }

    @Test func currentShapeInvoiceAndSubscription() throws {
        let resources = try Self.resources("fixtures3.json")
        var aggregate = Aggregate()
        S.apply(
            [
                try decode("invoice.finalized", try #require(resources["invoice"])),
                try decode("customer.subscription.updated", try #require(resources["subscription"])),
            ], to: &aggregate)
        let invoice = try #require(aggregate.record(S.ref(.invoice, "in_1Pgc6tB7WZ01zgkWu9fdqL6I"))?.decode(Invoice.self))
        #expect(invoice.customerRef == S.ref(.customer, "cus_QXg1o8vcGmoR32"))
        #expect(invoice.status == .draft)
        #expect(invoice.currency == .usd)
        #expect(invoice.totalMinor == 1000 && invoice.amountDueMinor == 1000)
        #expect(invoice.subscriptionRef == S.ref(.subscription, "subscription"))  // from parent.subscription_details
        #expect(invoice.paymentRef == nil && invoice.chargeID == nil)
        #expect(invoice.lines?.count == 1)
        #expect(invoice.lines?.first?.amountMinor == 1000)
        #expect(invoice.issuedAt == Date(timeIntervalSince1970: 1_234_567_890))

        let subscription = try #require(
            aggregate.record(S.ref(.subscription, "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw"))?.decode(Subscription.self))
        #expect(subscription.status == .active)
        // The current shape has no subscription-level period: it comes from the items.
        #expect(subscription.currentPeriodStart == Date(timeIntervalSince1970: 1_896_570_518))
        #expect(subscription.currentPeriodEnd == Date(timeIntervalSince1970: 976_287_773))
        #expect(subscription.items?.first?.productRef == S.ref(.product, "prod_QXg1hqf4jFNsqG"))
        #expect(subscription.items?.first?.priceRef == S.ref(.price, "price_1PgafmB7WZ01zgkW6dKueIc5"))
        #expect(subscription.items?.first?.unitAmount == Money(amountMinor: 2000, currency: .usd))
    }

    @Test func oldShapeInvoiceAndSubscription() throws {
        let resources = try Self.resources("fixtures3.2023-08-16.json")
        var aggregate = Aggregate()
        S.apply(
            [
                try decode("invoice.finalized", try #require(resources["invoice"])),
                try decode("customer.subscription.updated", try #require(resources["subscription"])),
            ], to: &aggregate)
        let invoice = try #require(aggregate.record(S.ref(.invoice, "in_1NnmX4GPxmnHQRkJyyhHiHYa"))?.decode(Invoice.self))
        #expect(invoice.customerRef == S.ref(.customer, "cus_Oaxlz8kB0PJWGa"))
        #expect(invoice.taxMinor == 0)
        #expect(
            invoice.lines == [
                InvoiceLine(
                    description: "My First Invoice Item (created for API docs)",
                    productRef: S.ref(.product, "prod_Oaxlh23kWPWslc"), quantity: 1, unitAmountMinor: 1000,
                    amountMinor: 1000)
            ])
        let subscription = try #require(
            aggregate.record(S.ref(.subscription, "sub_1NnmX4GPxmnHQRkJrhGrFloA"))?.decode(Subscription.self))
        #expect(subscription.currentPeriodStart == Date(timeIntervalSince1970: 1_234_567_890))
        #expect(subscription.cancelAt == Date(timeIntervalSince1970: 1_234_567_890))
    }
}

import Foundation
import Testing
import WeftCore

@testable import WeftConnectors

@Suite("HubSpot deal snapshots: mapping to the canonical deal")
struct HubSpotDealSnapshotTests {
    let mapping = HubSpotDealMapping(
        wonStages: ["closedwon", "custom-won"], defaultCurrency: CurrencyCode(rawValue: "EUR")!, taxIDProperty: "vat_number")

    func snapshot(
        deal: [String: String?], lines: [[String: String?]] = [], company: [String: String?]? = ["name": "Acme"],
        contact: [String: String?]? = nil, updated: TimeInterval = 1_764_547_200
    ) -> HubSpotDealSnapshot {
        HubSpotDealSnapshot(
            deal: HubSpotRecord(id: "42", properties: deal, updatedAt: Date(timeIntervalSince1970: updated)),
            lineItems: lines.enumerated().map { HubSpotRecord(id: String(100 + $0.offset), properties: $0.element) },
            company: company.map { HubSpotRecord(id: "7", properties: $0, updatedAt: Date(timeIntervalSince1970: updated + 5)) },
            contact: contact.map { HubSpotRecord(id: "9", properties: $0) })
    }

    @Test func amountsBecomeMinorUnitsOfTheDealsCurrency() {
        let eur = snapshot(
            deal: ["amount": "1250.5", "dealstage": "closedwon"], lines: [["price": "19.99", "quantity": "3", "hs_sku": "A"]]
        )
        .deal(system: "hubspot", mapping: mapping)
        #expect(eur.amount == Money(amountMinor: 125_050, currency: CurrencyCode(rawValue: "EUR")!))
        #expect(eur.lines?.first?.unitAmountMinor == 1999)
        #expect(eur.lines?.first?.quantity == 3)
        #expect(eur.won == true)
        let yen = snapshot(deal: ["amount": "1250", "deal_currency_code": "jpy"]).deal(system: "hubspot", mapping: mapping)
        #expect(yen.amount == Money(amountMinor: 1250, currency: CurrencyCode(rawValue: "JPY")!))
        #expect(yen.won == false)
        let garbage = snapshot(deal: ["amount": "lots"]).deal(system: "hubspot", mapping: mapping)
        #expect(garbage.amount == nil)
    }

    @Test func closeDatesAreUTCCalendarDatesWhateverTheForm() {
        #expect(HubSpotDealSnapshot.calendarDate("2026-11-30") == "2026-11-30")
        #expect(HubSpotDealSnapshot.calendarDate("2026-11-30T23:30:00.000Z") == "2026-11-30")
        #expect(HubSpotDealSnapshot.calendarDate("1764547200000") == "2025-12-01")
        #expect(HubSpotDealSnapshot.calendarDate("soon") == nil)
    }

    @Test func companyAndContactBecomeTheOrdersCustomerAndPerson() {
        let deal = snapshot(
            deal: ["dealname": "X", "dealstage": "custom-won"],
            company: ["name": "Acme", "country": "de", "city": "Berlin", "vat_number": "DE123"],
            contact: ["firstname": "Ada", "lastname": "Buyer", "email": "ada@acme.test"]
        ).deal(system: "hubspot", mapping: mapping)
        #expect(deal.won == true)
        #expect(deal.account?.ref == ExternalRef(system: "hubspot", kind: .account, id: "7"))
        #expect(deal.account?.address?.country == "DE")
        #expect(deal.account?.taxID == "DE123")
        #expect(deal.contact?.name == "Ada Buyer")
        #expect(deal.contact?.email == "ada@acme.test")
        #expect(deal.contact?.ref == ExternalRef(system: "hubspot", kind: .contact, id: "9"))
    }

    @Test func payloadRoundTripsAndTheEventIDFollowsTheContent() throws {
        let first = snapshot(deal: ["amount": "10", "dealstage": "closedwon"], lines: [["hs_sku": "A", "quantity": "1"]])
        let parsed = try #require(HubSpotDealSnapshot.parse(first.payload))
        #expect(parsed == first)
        #expect(first.eventID(system: "hubspot") == parsed.eventID(system: "hubspot"))
        let changed = snapshot(deal: ["amount": "11", "dealstage": "closedwon"], lines: [["hs_sku": "A", "quantity": "1"]])
        #expect(changed.eventID(system: "hubspot") != first.eventID(system: "hubspot"))
        // The newest of the records' modification times versions the snapshot (here the company's).
        #expect(first.modifiedAt == Date(timeIntervalSince1970: 1_764_547_205))
    }

    @Test func theDecoderStatesEveryFieldSoRemovalsApplyAndIgnoresWebhookEvents() throws {
        let decoder = HubSpotEventDecoder(system: "hubspot", mapping: mapping)
        let noLines = snapshot(deal: ["dealstage": "closedwon"], company: nil)
        let event = InboxEvent(
            seq: EventSeq(1), system: "hubspot", eventID: noLines.eventID(system: "hubspot"), type: HubSpotDealSnapshot.eventType,
            entityKey: EntityKey("hubspot/deal/42"), occurredAt: noLines.modifiedAt, receivedAt: Date(), payload: noLines.payload,
            traceID: .random(), status: .pending, attempts: 0, outcome: nil)
        let decoded = try decoder.decode(event)
        #expect(decoded.entityKey == EntityKey("hubspot/deal/42"))
        let fields = try #require(decoded.changes.first?.fields)
        #expect(fields["amount"] == .null)
        #expect(fields["account"] == .null)
        #expect(fields["lines"] == .array([]))
        var webhook = event
        webhook.type = HubSpotEventDecoder.webhookEventType("deal.propertyChange")
        webhook.payload = Data(#"{"eventId":1}"#.utf8)
        #expect(try decoder.decode(webhook).ignoredReason != nil)
        var broken = event
        broken.payload = Data("not json".utf8)
        #expect(throws: (any Error).self) { try decoder.decode(broken) }
    }
}

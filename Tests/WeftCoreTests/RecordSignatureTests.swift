import Foundation
import PropertyBased
import Testing

@testable import WeftCore

/// Routing signs each invoice and payment in two parts in one pass (`RecordState.signatures(of:_:)`); the signatures
/// are stored with what was emitted, so they must stay the ones of the field maps they stand for.
@Suite("Record signatures")
struct RecordSignatureTests {
    static let names = [
        "status", "amountDueMinor", "amountPaidMinor", "amountRemainingMinor", "paidAt", "paymentRef", "chargeID",
        "creditAppliedMinor", "appliedCreditRefs", "failureCode", "intentRef", "amountIncludesPartials", "number",
        "customerRef", "currency", "lines", "totalMinor", "partial", "zé", "a\"b",
    ]
    static let values: [JSONValue] = [
        "open", "paid", "uncollectible", "draft", "void", "other", 0, 1250, -3, 2.5, true, .null,
        ["a", 1, ["k": "v"]], ["system": "stripe", "kind": "invoice", "id": "in_1"], .double(.infinity),
    ]

    @Test func theOnePassSignaturesAreTheMapsSignatures() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...1_000_000_000)) { seed in
            var random = JSONTapeTests.SplitMix(seed: UInt64(seed))
            var fields: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...12, using: &random) {
                fields[Self.names.randomElement(using: &random)!] = Self.values.randomElement(using: &random)!
            }
            let invoice = RecordState.signatures(of: fields, Invoice.signatureParts)
            #expect(invoice.first == RecordState.signature(of: Invoice.bookedFields(fields)), "\(fields)")
            #expect(
                invoice.second
                    == RecordState.signature(of: fields.filter { Invoice.settlementFields.contains($0.key) || $0.key == "status" }),
                "\(fields)")
            let payment = RecordState.signatures(of: fields, Payment.signatureParts)
            #expect(payment.first == RecordState.signature(of: Payment.bookedFields(fields)), "\(fields)")
            #expect(payment.second == RecordState.signature(of: fields.filter { Payment.unbookedFields.contains($0.key) }))
        }
    }

    @Test func theFieldChecksAgreeWithTheSets() {
        for name in Self.names + Array(Invoice.settlementFields) + Array(Payment.unbookedFields) {
            #expect(Invoice.isSettlementField(name) == Invoice.settlementFields.contains(name), "\(name)")
            #expect(Payment.isUnbookedField(name) == Payment.unbookedFields.contains(name), "\(name)")
        }
    }
}

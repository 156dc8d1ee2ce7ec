import Foundation
import Testing
import WeftCore

@testable import WeftServer

@Suite("The entitlement lookup's JSON")
struct EntitlementViewJSONTests {
    func encoded(_ view: EntitlementView) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(view), as: UTF8.self)
    }

    @Test func isWhatJSONEncoderWritesWithEveryFieldAndWithout() throws {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000.75)
        var full = EntitlementView(
            Entitlement(
                accountRef: ExternalRef(system: "stripe", kind: .customer, id: "cus_\"quoted\\"), tier: "pro \"plus\"",
                status: .pastDue,
                standing: EntitlementStanding(
                    state: .overdue, overdueSince: t0, overdueDays: 3, overdue: Money(amountMinor: 2500, currency: .usd)),
                contractEnd: t0 + 86_400 * 40, supportLevel: "priority",
                subscriptionRef: ExternalRef(system: "stripe", kind: .subscription, id: "sub_1"), nextChangeAt: t0 + 7 * 86_400),
            asOf: t0)
        full.sourceReachedAt = Date(timeIntervalSince1970: 946_684_799)
        full.stale = true
        let expectedFull = try encoded(full)
        let writtenFull = String(decoding: full.jsonBytes(), as: UTF8.self)
        #expect(writtenFull == expectedFull)

        let bare = EntitlementView(
            Entitlement(
                accountRef: ExternalRef(system: "stripe", kind: .customer, id: "cus_2"), tier: nil, status: .none,
                standing: .good, contractEnd: nil, supportLevel: "none"),
            asOf: nil)
        let expectedBare = try encoded(bare)
        let writtenBare = String(decoding: bare.jsonBytes(), as: UTF8.self)
        #expect(writtenBare == expectedBare)
    }
}

import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import Testing
import WeftCore

@testable import WeftConnectors

@Suite struct OdooMappingTests {
    @Test func executeKwPutsIdsAndLeadingParameterFirst() {
        let write = OdooCall(model: "res.partner", method: "write", ids: [7], params: ["vals": ["name": "A"]])
        #expect(write.executeKwArguments.args == [[7], ["name": "A"]])
        #expect(write.executeKwArguments.kwargs.isEmpty)
        let search = OdooCall(
            model: "res.partner", method: "search_read", params: ["domain": [], "fields": ["name"], "limit": 5],
            context: ["active_test": false])
        #expect(search.executeKwArguments.args == [[]])
        #expect(search.executeKwArguments.kwargs == ["fields": ["name"], "limit": 5, "context": ["active_test": false]])
        let assign = OdooCall(model: "account.move", method: "js_assign_outstanding_line", ids: [27], params: ["line_id": 74])
        #expect(assign.executeKwArguments.args == [[27]])
        #expect(assign.executeKwArguments.kwargs == ["line_id": 74])
        #expect(assign.json2Body == ["ids": [27], "line_id": 74])
    }

    @Test func versionAdaptsFieldNames() {
        let v19 = OdooServerVersion(["version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"])
        let v18 = OdooServerVersion(["server_version": "18.0-20250925", "server_version_info": [18, 0, 0, "final", 0, ""]])
        let v17 = OdooServerVersion(["server_version": "17.0"])
        #expect(v19?.major == 19 && v18?.major == 18 && v17?.major == 17)
        #expect(v19?.saleLineTaxField == "tax_ids" && v18?.saleLineTaxField == "tax_id")
        #expect(v19?.nameSearchDomainParameter == "domain" && v18?.nameSearchDomainParameter == "args")
        #expect(v18?.paymentMemoField == "memo" && v17?.paymentMemoField == "ref")
    }

    /// Odoo Online names its major `saas~18` in `version_info` and in the version string.
    @Test func onlineVersionsAreRead() {
        let info = OdooServerVersion([
            "server_version": "saas~18.1+e", "server_version_info": ["saas~18", 1, 0, "final", 0, "e"],
        ])
        #expect(info?.major == 18 && info?.minor == 1 && info?.text == "saas~18.1+e")
        let text = OdooServerVersion(["version": "saas~17.2+e"])
        #expect(text?.major == 17 && text?.minor == 2)
        #expect(OdooServerVersion(["server_version": "18.0-20250925"])?.minor == 0)
        #expect(OdooServerVersion(["server_version": "enterprise"]) == nil)
    }

    @Test func classifiesExceptionNamesFromAllTransports() {
        func kind(_ name: String, _ message: String = "", status: Int? = nil) -> OdooError.Kind {
            OdooErrorMapping.fromException(name: name, message: message, status: status, operation: nil).kind
        }
        #expect(kind("werkzeug.exceptions.Unauthorized", status: 401) == .authentication)
        #expect(kind("odoo.exceptions.AccessDenied") == .authentication)
        #expect(kind("odoo.exceptions.AccessError", status: 403) == .accessDenied)
        #expect(kind("odoo.exceptions.MissingError", status: 404) == .missingRecord)
        #expect(kind("odoo.exceptions.ValidationError", "Contacts require a name", status: 422) == .validation)
        #expect(kind("odoo.exceptions.UserError", "Object res.nonexistent doesn't exist") == .notFound)
        #expect(kind("werkzeug.exceptions.NotFound", status: 404) == .notFound)
        #expect(kind("builtins.AttributeError", "The method 'res.partner.nope' does not exist") == .notFound)
        #expect(kind("builtins.ValueError", "Invalid field", status: 500) == .invalidRequest)
        #expect(kind("psycopg2.OperationalError") == .unavailable)
        #expect(kind("odoo.exceptions.LockError", status: 409) == .conflict)
    }

    @Test func classifiesXMLRPCFaults() {
        func fault(_ code: Int64?, _ text: String? = nil, _ message: String) -> OdooError.Kind {
            OdooErrorMapping.fromFault(code: code, codeText: text, message: message, operation: nil).kind
        }
        #expect(fault(3, nil, "Access Denied") == .authentication)
        #expect(fault(4, nil, "Private methods") == .accessDenied)
        #expect(fault(2, nil, "Record does not exist or has been deleted.\n(Record: res.partner(9,), User: 2)") == .missingRecord)
        #expect(fault(2, nil, "Object res.nonexistent doesn't exist") == .notFound)
        #expect(fault(2, nil, "The operation cannot be completed: Contacts require a name") == .validation)
        #expect(fault(1, nil, "  File \"x\"\nAttributeError: The method 'res.partner.nope' does not exist\n") == .notFound)
        #expect(fault(nil, "AccessDenied", "Access Denied") == .authentication)
        #expect(fault(nil, "warning -- MissingError\n\nRecord does not exist", "") == .missingRecord)
        let duplicate = OdooErrorMapping.fromFault(
            code: 2, codeText: nil,
            message:
                "The operation cannot be completed: duplicate key value violates unique constraint \"ir_model_data_module_name_uniq_index\"",
            operation: nil)
        #expect(duplicate.isDuplicateExternalID)
    }

    @Test func outcomesSayWhatToDo() {
        let logger = Logger(label: "test")
        let rateLimited = OdooTarget.outcome(
            for: OdooError(kind: .rateLimited, message: "slow down", status: 429, retryAfter: .seconds(7)), logger: logger)
        guard case .retry(let failure) = rateLimited else {
            Issue.record("429 must retry")
            return
        }
        #expect(failure.kind == .rateLimited && failure.retryAfter == .seconds(7))
        guard case .reject(let denied) = OdooTarget.outcome(for: OdooError(kind: .accessDenied, message: "no"), logger: logger) else {
            Issue.record("403 must reject")
            return
        }
        #expect(denied.kind == .unauthorized)
        guard case .reject(let invalid) = OdooTarget.outcome(for: OdooError(kind: .validation, message: "bad VAT"), logger: logger) else {
            Issue.record("422 must reject")
            return
        }
        #expect(invalid.message.contains("bad VAT"))
        for kind in [OdooError.Kind.transport, .unavailable, .conflict, .missingRecord] {
            guard case .retry = OdooTarget.outcome(for: OdooError(kind: kind, message: ""), logger: logger) else {
                Issue.record("\(kind) must retry")
                continue
            }
        }
    }

    @Test func errorDescriptionNeverCarriesTheKey() {
        let configuration = OdooConfiguration(url: "http://odoo", database: "db", apiKey: "sekrit-key-123")
        #expect(!configuration.description.contains("sekrit"))
        let error = OdooError(kind: .authentication, message: "Access Denied\nTraceback line 2\nline 3", operation: "res.partner.read")
        #expect(error.description == "Odoo authentication on res.partner.read: Access Denied Traceback line 2")
    }

    @Test func invoiceLinesCarryNoOdooTaxAndKeepTotals() throws {
        let ref = ExternalRef(system: "stripe", kind: .invoice, id: "in_1")
        var invoice = Invoice(ref: ref, customerRef: ExternalRef(system: "stripe", kind: .customer, id: "cus_1"))
        invoice.currency = .usd
        invoice.lines = [
            InvoiceLine(description: "Seats", quantity: 3, unitAmountMinor: 1000, amountMinor: 3000),
            InvoiceLine(description: "Discounted", quantity: 2, unitAmountMinor: 999, amountMinor: 1500),
            InvoiceLine(description: "Coupon", quantity: 3, unitAmountMinor: 1000, amountMinor: 2400, discountMinor: 600),
            // A proration: its amount is its share of the period, no discount.
            InvoiceLine(description: "Prorated", quantity: 1, unitAmountMinor: 1000, amountMinor: 500),
        ]
        invoice.taxMinor = 450
        let target = OdooTarget(client: OdooClient(configuration: OdooConfiguration(url: "http://x", apiKey: "k"), httpClient: .shared))
        let lines = target.invoiceLines(invoice, products: [:])
        #expect(lines.count == 5)
        #expect(lines.allSatisfy { $0["tax_ids"] == [[6, 0, []]] })
        #expect(lines[0]["quantity"] == 3 && lines[0]["price_unit"] == 10.0 && lines[0]["discount"] == nil)
        // A discount Odoo's two-decimal "Disc.%" cannot state exactly: one line for the exact amount.
        #expect(lines[1]["quantity"] == 1 && lines[1]["price_unit"] == 15.0 && lines[1]["discount"] == nil)
        // 20 % off 3 × 10.00: Odoo's own discount column, its line total exactly 24.00.
        #expect(lines[2]["quantity"] == 3 && lines[2]["price_unit"] == 10.0 && lines[2]["discount"] == 20.0)
        #expect(lines[3]["quantity"] == 1 && lines[3]["price_unit"] == 5.0 && lines[3]["discount"] == nil)
        #expect(lines[4]["price_unit"] == 4.5)
        #expect(OdooTarget.discountPercent(gross: 3000, net: 2400) == 20)
        #expect(OdooTarget.discountPercent(gross: 1000, net: 875) == 12.5)
        #expect(OdooTarget.discountPercent(gross: 1000, net: 0) == 100)
        #expect(OdooTarget.discountPercent(gross: 1998, net: 1500) == nil)
        #expect(OdooTarget.discountPercent(gross: 1000, net: 1000) == nil)
        #expect(OdooTarget.discountPercent(gross: 1000, net: 1200) == nil)
    }

    @Test func comparesReadValuesLikeOdooReturnsThem() {
        #expect(OdooClient.sameValue(.int(233), [233, "United States"]))
        #expect(OdooClient.sameValue("", false))
        #expect(OdooClient.sameValue(.int(100), .double(100)))
        #expect(!OdooClient.sameValue("a@b.c", false))
        #expect(!OdooClient.sameValue("x", nil))
    }

    @Test func datesAreUTCDays() {
        #expect(OdooTarget.odooDate(Date(timeIntervalSince1970: 1_795_384_786)) == "2026-11-22")
    }
}

@Suite struct HTTPPlumbingTests {
    @Test func retryAfterReadsSecondsAndHTTPDates() {
        let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT
        #expect(RetryAfter.parse("120", now: now) == .seconds(120))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:47 GMT", now: now) == .seconds(10))
        #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:57 GMT", now: now) == .seconds(20))
        #expect(RetryAfter.parse("Sun Nov  6 08:50:37 1994", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:00:00 GMT", now: now) == .zero)
        #expect(RetryAfter.parse("soon", now: now) == nil)
        #expect(RetryAfter.parse(nil, now: now) == nil)
    }

    @Test func anAbsurdRetryAfterIsReadAsTheLongestDelayInsteadOfOverflowing() {
        let now = Date(timeIntervalSince1970: 784_111_777)
        #expect(RetryAfter.parse("99999999999999999", now: now) == RetryAfter.longest)
        #expect(RetryAfter.parse("99999999999999999999999999", now: now) == RetryAfter.longest)
        #expect(RetryAfter.parse("86401", now: now) == RetryAfter.longest)
        #expect(RetryAfter.parse("Sun, 06 Nov 2094 08:49:37 GMT", now: now) == RetryAfter.longest)
        #expect(RetryAfter.parse("Sun, 06 Nov 999999999 08:49:37 GMT", now: now) == nil)
        #expect(RetryAfter.parse("Sun, 06 Nov 9223372036854775807 08:49:37 GMT", now: now) == nil)
        #expect(RetryAfter.parse("-5", now: now) == nil)
    }

    /// RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the century before.
    @Test func aTwoDigitYearIsTheLatestNotMoreThanFiftyYearsAhead() {
        let now = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-29
        #expect(RetryAfter.httpDate("Sunday, 06-Nov-75 08:49:37 GMT", now: now).map { Int($0.timeIntervalSince1970) } == 3_340_255_777)
        #expect(RetryAfter.httpDate("Sunday, 06-Nov-77 08:49:37 GMT", now: now).map { Int($0.timeIntervalSince1970) } == 247_654_177)
        #expect(RetryAfter.fullYear(twoDigits: 26, now: now) == 2026)
        #expect(RetryAfter.fullYear(twoDigits: 76, now: now) == 2076)
        #expect(RetryAfter.fullYear(twoDigits: 77, now: now) == 1977)
        #expect(RetryAfter.fullYear(twoDigits: 0, now: now) == 2000)
    }

    @Test func statusClasses() {
        #expect(HTTPStatusClass(status: 200) == .success)
        for status in [408, 409, 429, 500, 502, 503, 504] { #expect(HTTPStatusClass(status: status) == .retryable) }
        for status in [400, 401, 403, 404, 422, 501] { #expect(HTTPStatusClass(status: status) == .permanent) }
    }
}

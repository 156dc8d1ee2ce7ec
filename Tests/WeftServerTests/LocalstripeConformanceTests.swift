import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WeftConnectors
import WeftCore
import WeftTools

/// Weft against a Stripe it did not write: localstripe (github.com/adrienverge/localstripe, a stateful Stripe
/// emulator in Python), whose webhooks are signed by its own code, whose events have its own shape (API version
/// 2017-08-15: `invoice.payment_succeeded`, no `invoice.paid` or `invoice.finalized`), and whose `GET /v1/events`
/// lists oldest first. `scripts/localstripe` installs a pinned version; `scripts/test` does so and sets
/// `WEFT_LOCALSTRIPE`. Without it (a fresh clone offline) the suite is skipped.
@Suite(
    "Conformance with localstripe",
    .enabled(if: Localstripe.executable != nil, "localstripe is not installed (scripts/localstripe installs it)"))
struct LocalstripeConformanceTests {
    /// Webhooks while Weft is listening, then the events API for what happens while no webhook reaches it: every
    /// customer, invoice and payment lands in Odoo exactly once, the customer under its latest name.
    @Test func webhooksAndTheEventsAPIOfAThirdPartyEmulatorLandInOdooExactlyOnce() async throws {
        try await Localstripe.withRunning { stripe in
            try await TestNode.with(stripeCatchUpURL: stripe.url, stripeCatchUpInterval: .seconds(1)) { node in
                try await stripe.registerWebhook(url: "\(node.weftURL)/hooks/stripe", secret: TestNode.webhookSecret)
                let product = try await stripe.id("/v1/products", [("name", "Pro plan"), ("type", "service")])
                _ = try await stripe.id(
                    "/v1/plans",
                    [("id", "pro-monthly"), ("amount", "2500"), ("currency", "usd"), ("interval", "month"), ("product", product)])

                // Created, renamed (usually within the same second: the webhooks race) and subscribed; the first
                // invoice is charged at once.
                let ada = try await stripe.customer(name: "Ada Lovelace", email: "ada@example.com")
                _ = try await stripe.id("/v1/customers/\(ada)", [("name", "Ada King")])
                _ = try await stripe.id("/v1/subscriptions", [("customer", ada), ("items[0][plan]", "pro-monthly")])
                try await waitUntil { try await node.paidInvoices(email: "ada@example.com") == 1 }

                // No webhook reaches Weft now (localstripe does not retry): only the events API tells of Grace.
                try await stripe.registerWebhook(url: "http://127.0.0.1:1/hooks/stripe", secret: TestNode.webhookSecret)
                let grace = try await stripe.customer(name: "Grace Hopper", email: "grace@example.com")
                _ = try await stripe.id("/v1/subscriptions", [("customer", grace), ("items[0][plan]", "pro-monthly")])
                try await waitUntil { try await node.paidInvoices(email: "grace@example.com") == 1 }
                _ = try await node.drain()

                for (email, name) in [("ada@example.com", "Ada King"), ("grace@example.com", "Grace Hopper")] {
                    let partners = try await node.odooRead("res.partner", [["email", "=", .string(email)]], fields: ["id", "name"])
                    #expect(partners.count == 1, "one partner for \(email)")
                    #expect(partners.first?["name"]?.stringValue == name)
                    let partner = JSONValue.int(partners.first?["id"]?.intValue ?? -1)
                    let invoices = try await node.odooRead(
                        "account.move", [["partner_id", "=", partner], ["move_type", "=", "out_invoice"]],
                        fields: ["state", "payment_state", "amount_total", "currency_id"])
                    #expect(invoices.count == 1, "one invoice for \(email)")
                    #expect(invoices.first?["state"]?.stringValue == "posted")
                    #expect(invoices.first?["payment_state"]?.stringValue == "paid")
                    #expect(invoices.first?["amount_total"] == .int(25) || invoices.first?["amount_total"] == .double(25))
                    #expect(invoices.first?["currency_id"]?.arrayValue?.last?.stringValue == "USD")
                    #expect(try await node.odooCount("account.payment", [["partner_id", "=", partner]]) == 1, "one payment for \(email)")
                }
                #expect(try await node.odooCount("product.product", [["name", "=", "Pro plan"]]) == 1)

                // Every webhook localstripe sent while Weft listened was acknowledged (its signature verified).
                let report = try stripe.webhookReport()
                #expect(report.delivered >= 6)
                #expect(report.refused.isEmpty, "webhooks Weft refused: \(report.refused)")
                let stats = try await node.drain()
                #expect(stats.deadCommandsByKind.values.reduce(0, +) == 0, "dead letters: \(stats)")
            }
        }
    }
}

extension TestNode {
    /// Posted, paid customer invoices of the partner with `email` in the Odoo simulator.
    fileprivate func paidInvoices(email: String) async throws -> Int {
        let partners = try await odooRead("res.partner", [["email", "=", .string(email)]], fields: ["id"])
        guard let partner = partners.first?["id"]?.intValue else { return 0 }
        return try await odooCount(
            "account.move",
            [["partner_id", "=", .int(partner)], ["move_type", "=", "out_invoice"], ["payment_state", "=", "paid"]])
    }
}

/// A localstripe process on a free loopback port, and the calls the test makes to it.
struct Localstripe: Sendable {
    static let key = "sk_test_weft_localstripe"

    /// The `localstripe` executable: `WEFT_LOCALSTRIPE`, else where `scripts/localstripe` installs it.
    static let executable: String? = {
        if let path = ProcessInfo.processInfo.environment["WEFT_LOCALSTRIPE"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let installed = root.appendingPathComponent(".build/localstripe/bin/localstripe").path
        return FileManager.default.isExecutableFile(atPath: installed) ? installed : nil
    }()

    let url: String
    let logPath: String

    /// Starts localstripe (with no saved state), runs `body`, stops it.
    static func withRunning<T: Sendable>(_ body: @Sendable (Localstripe) async throws -> T) async throws -> T {
        guard let executable else { throw HarnessError("localstripe is not installed") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-localstripe-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try ProcessSupport.freePort()
        let stripe = Localstripe(url: "http://127.0.0.1:\(port)", logPath: "\(directory)/localstripe.log")
        let process = try ProcessSupport.start(
            executable: executable, arguments: ["--port", "\(port)", "--from-scratch"],
            environment: ["PYTHONUNBUFFERED": "1"], logPath: stripe.logPath)
        defer { ProcessSupport.kill9(process) }
        try await waitUntil {
            guard process.isRunning else { throw HarnessError("localstripe exited: \(stripe.log())") }
            return (try? await stripe.call(.GET, "/v1/events?limit=1")) != nil
        }
        return try await body(stripe)
    }

    /// `POST` with a form body; the created or updated object's `id`.
    func id(_ path: String, _ form: [(String, String)]) async throws -> String {
        let object = try await call(.POST, path, form: form)
        guard let id = object["id"]?.stringValue else { throw HarnessError("\(path) answered without an id: \(object)") }
        return id
    }

    /// A customer with a card that pays.
    func customer(name: String, email: String) async throws -> String {
        let token = try await id(
            "/v1/tokens",
            [("card[number]", "4242424242424242"), ("card[exp_month]", "12"), ("card[exp_year]", "2034"), ("card[cvc]", "123")])
        return try await id("/v1/customers", [("name", name), ("email", email), ("source", token)])
    }

    /// Points localstripe's one webhook endpoint at `url`, signed with `secret`.
    func registerWebhook(url: String, secret: String) async throws {
        _ = try await call(.POST, "/_config/webhooks/weft", form: [("url", url), ("secret", secret)])
    }

    /// What localstripe logged of its webhook deliveries: how many Weft acknowledged, and those it answered with
    /// an HTTP error (a connection refused, while no webhook reaches Weft, is neither).
    func webhookReport() throws -> (delivered: Int, refused: [String]) {
        let lines = log().split(separator: "\n")
        return (
            lines.filter { $0.contains("successfully delivered") }.count,
            lines.filter { $0.contains("failed with response code") }.map(String.init)
        )
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func call(_ method: HTTPMethod, _ path: String, form: [(String, String)] = []) async throws -> JSONValue {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(Self.key)")
        if method == .POST {
            let body = FormEncoding.encode(form)
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 22)
        // `/_config/` routes answer with an empty body.
        let json = body.readableBytes == 0 ? JSONValue.null : try JSONValue.parse(Data(body.readableBytesView))
        guard response.status.code < 300 else { throw HarnessError("localstripe \(method) \(path): \(response.status.code) \(json)") }
        return json
    }
}

import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import WeftSimKit

extension FreshdeskSimulator {
    /// Mounts the API under `/api/v2` (behind the fault middleware) and the admin routes under `/__sim`:
    /// the shared fault and request-log routes, `GET /__sim/webhooks` (delivery attempts), and
    /// `GET`/`POST /__sim/company_fields` (`{"label":"Weft account","type":"custom_text"}` defines a field).
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        addSimulatorAdminRoutes(to: router, faults: faults, log: requestLog)
        let api = router.group("api/v2").add(
            middleware: FaultMiddleware(faults: faults, log: requestLog) { status in
                ("application/json", String(decoding: FreshdeskAPIError.injected(status: status).bytes, as: UTF8.self))
            })
        for method in [HTTPRequest.Method.get, .post, .put, .delete] {
            api.on("**", method: method) { request, _ in try await self.serve(request) }
        }
        router.get("/__sim/webhooks") { _, _ in
            Self.json(try JSONEncoder().encode(self.webhookDeliveries))
        }
        router.get("/__sim/company_fields") { _, _ in
            Self.json(try JSONEncoder().encode(self.companyFields))
        }
        router.post("/__sim/company_fields") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let json = FDJSON.parse(body.readableBytesView), let label = json["label"]?.string, !label.isEmpty
            else { throw HTTPError(.badRequest, message: #"body must be {"label":"…","type":"custom_text"}"#) }
            let type = json["type"]?.string.flatMap(CustomField.FieldType.init(rawValue:)) ?? .text
            var field = CustomField(label: label, type: type, choices: (json["choices"]?.array ?? []).compactMap(\.string))
            if let name = json["name"]?.string, !name.isEmpty { field.name = name }
            self.defineCompanyField(field)
            return Self.json(try JSONEncoder().encode(field))
        }
    }

    private func serve(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 4 << 20)
        let parsed = FreshdeskRequest(
            method: request.method.rawValue, path: request.uri.path, query: Self.queryPairs(request.uri.query ?? ""),
            body: Array(body.readableBytesView),
            host: request.head.authority ?? "localhost")
        let reply = handle(parsed, authorization: request.headers[.authorization])
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        if reply.status == 204 {
            return Response(status: .noContent, headers: headers)
        }
        return Response(
            status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.bodyBytes)))
    }

    /// `a=1&b=%22x%22` → pairs, percent-decoded (`+` is a space).
    static func queryPairs(_ query: String) -> [(String, String)] {
        query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    private static func json(_ bytes: some Sequence<UInt8>) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(bytes))))
    }
}

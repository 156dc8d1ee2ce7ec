import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import WeftSimKit

extension ZendeskSimulator {
    /// Mounts the API under `/api/v2` (behind the fault middleware) and the admin routes under `/__sim`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        addSimulatorAdminRoutes(to: router, faults: faults, log: requestLog)
        let api = router.group("api/v2").add(
            middleware: FaultMiddleware(faults: faults, log: requestLog) { status in
                if status == 429 { return ("text/plain; charset=utf-8", "Number of allowed API requests per minute exceeded") }
                let body: JSON = ["error": "ServiceUnavailable", "description": "The service is temporarily unavailable"]
                return ("application/json; charset=utf-8", String(decoding: body.bytes, as: UTF8.self))
            })
        for method in [HTTPRequest.Method.get, .post, .put, .delete] {
            api.on("**", method: method) { request, _ in try await self.serve(request) }
        }
        router.get("/__sim/webhooks/deliveries") { _, _ in
            let data = try JSONEncoder().encode(self.webhookDeliveries)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
        }
    }

    private func serve(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 4 << 20)
        let reply = handle(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query,
            body: Array(body.readableBytesView), authorization: request.headers[.authorization],
            baseURL: "http://" + (request.head.authority ?? "localhost"))
        var headers: HTTPFields = [.contentType: reply.contentType]
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(
            status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
    }
}

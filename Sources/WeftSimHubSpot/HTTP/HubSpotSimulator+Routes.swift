import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import WeftSimKit

extension HubSpotSimulator {
    /// Mounts the API under the configured prefixes (behind the fault middleware) and the admin routes under
    /// `/__sim` (`/__sim/webhooks/deliveries`, `/__sim/webhooks/faults` besides the shared ones).
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        addSimulatorAdminRoutes(to: router, faults: faults, log: requestLog)
        let paths = configuration.paths
        let roots = Set(
            [paths.objects, paths.associations, paths.owners, paths.properties].compactMap {
                $0.split(separator: "/").first.map(String.init)
            })
        for root in roots.sorted() {
            let api = router.group(RouterPath(root)).add(
                middleware: FaultMiddleware(faults: faults, log: requestLog) { status in
                    let body: JSON =
                        status == 429
                        ? [
                            "status": "error", "message": .string(RatePolicy.tenSecondlyRolling.message),
                            "errorType": "RATE_LIMIT", "correlationId": "", "policyName": "TEN_SECONDLY_ROLLING",
                        ]
                        : [
                            "status": "error", "message": "internal error", "correlationId": "",
                            "category": "INTERNAL_ERROR",
                        ]
                    return ("application/json;charset=utf-8", String(decoding: body.bytes, as: UTF8.self))
                })
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
                api.on("**", method: method) { request, _ in try await self.serve(request) }
            }
        }
        router.get("/__sim/webhooks/deliveries") { _, _ in
            let data = try JSONEncoder().encode(self.webhookDeliveries)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
        }
        router.post("/__sim/webhooks/faults") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let plan = try? JSONDecoder().decode(WebhookFaultPlan.self, from: Data(body.readableBytesView)) else {
                throw HTTPError(.badRequest, message: "body must be a JSON webhook fault plan")
            }
            self.setWebhookFaults(plan)
            return Response(status: .noContent)
        }
    }

    private func serve(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 4 << 20)
        let reply = handle(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query,
            body: Array(body.readableBytesView), authorization: request.headers[.authorization],
            baseURL: "http://" + (request.head.authority ?? "localhost"))
        var headers: HTTPFields = [:]
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        if headers[.contentType] == nil, !reply.body.isEmpty { headers[.contentType] = "application/json;charset=utf-8" }
        return Response(
            status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
    }
}

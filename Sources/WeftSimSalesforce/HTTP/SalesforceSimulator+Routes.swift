import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import WeftSimKit

extension SalesforceSimulator {
    /// Mounts `/services/…` (OAuth token endpoint and REST API, behind the fault middleware) and the admin routes under
    /// `/__sim` (besides the shared ones: `GET /__sim/outbound/deliveries`, `POST /__sim/outbound/faults`,
    /// `POST /__sim/outbound/deliver`, `POST /__sim/sessions/expire`, `POST /__sim/limits/usage` with `{"used":n}`).
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        addSimulatorAdminRoutes(to: router, faults: faults, log: requestLog)
        let api = router.group("services").add(
            middleware: FaultMiddleware(faults: faults, log: requestLog) { status in
                let body: JSON =
                    status == 503
                    ? [["message": "Server is temporarily unavailable. Please try again later.", "errorCode": "SERVER_UNAVAILABLE"]]
                    : status == 429 || status == 403
                        ? [["message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"]]
                        : [
                            [
                                "message":
                                    "An unexpected error occurred. Please include this ErrorId if you contact support: 0000000000-00000 (-0000000000)",
                                "errorCode": "UNKNOWN_EXCEPTION",
                            ]
                        ]
                return ("application/json;charset=UTF-8", String(decoding: body.bytes, as: UTF8.self))
            })
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete, .head] {
            api.on("**", method: method) { request, _ in try await self.serve(request) }
        }
        router.get("/__sim/outbound/deliveries") { _, _ in
            let data = try JSONEncoder().encode(self.outboundDeliveries)
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
        }
        router.post("/__sim/outbound/faults") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let plan = try? JSONDecoder().decode(OutboundFaultPlan.self, from: Data(body.readableBytesView)) else {
                throw HTTPError(.badRequest, message: "body must be a JSON outbound fault plan")
            }
            self.setOutboundFaults(plan)
            return Response(status: .noContent)
        }
        router.post("/__sim/outbound/deliver") { _, _ in
            let attempts = await self.deliverPending(ignoringBackoff: true)
            let data = try JSONEncoder().encode(attempts)
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
        }
        router.post("/__sim/sessions/expire") { _, _ in
            self.expireSessions()
            return Response(status: .noContent)
        }
        router.post("/__sim/limits/usage") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let json = try? JSON.parse(Array(body.readableBytesView)), let used = json["used"].int else {
                throw HTTPError(.badRequest, message: #"body must be {"used": <n>}"#)
            }
            self.setApiUsage(used: used)
            return Response(status: .noContent)
        }
    }

    private func serve(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let reply = handle(
            method: request.method == .head ? "GET" : request.method.rawValue, path: request.uri.path, query: request.uri.query,
            headers: headers, body: Array(body.readableBytesView), baseURL: "http://" + (request.head.authority ?? "localhost"))
        var fields: HTTPFields = [:]
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        return Response(
            status: .init(code: reply.status), headers: fields,
            body: request.method == .head ? .init() : .init(byteBuffer: ByteBuffer(bytes: reply.body)))
    }
}

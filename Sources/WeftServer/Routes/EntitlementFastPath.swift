import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `GET /v1/entitlements/<billing system>/<id>` on the connection's event loop when the answer is already in
/// memory, before the request reaches the router.
///
/// The router runs each request as a Swift task: the request crosses from the event loop to the task and the answer
/// back, which costs more than the lookup itself. A support tool polling entitlements makes that the hot path, so the
/// requests `AdminRoutes.immediateEntitlement` can answer without waiting (a cached entitlement, a valid token with the
/// `read` scope, a known source reach time) are written here directly. Everything else — an unknown account, a bad
/// token, a lookup by a target id, a store other nodes write to — goes on to the router unchanged, which answers with
/// the same bytes or the error.
///
/// Responses stay in request order: while a request passed on to the router has not been answered, later requests
/// are passed on too (HTTP/1.1 pipelining).
final class EntitlementFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let prefix = "/v1/entitlements/"

    let routes: AdminRoutes
    /// Requests passed on to the router whose answer has not ended yet.
    private var forwardedInFlight = 0
    /// The body of the request being answered here, ready once its end arrives.
    private var pending: [UInt8]?
    /// The current request goes to the router.
    private var forwarding = false

    init(routes: AdminRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let request):
            if forwardedInFlight == 0, let body = answer(request) {
                pending = body
                forwarding = false
                return
            }
            forwarding = true
            forwardedInFlight += 1
            context.fireChannelRead(data)
        case .body:
            if forwarding { context.fireChannelRead(data) }
        case .end:
            if forwarding {
                context.fireChannelRead(data)
            } else if let body = pending {
                pending = nil
                EventLoopAnswer.write(status: .ok, body: body, to: context)
            }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), forwardedInFlight > 0 { forwardedInFlight -= 1 }
        context.write(data, promise: promise)
    }

    /// The body to answer `request` with here, or `nil` when the router must answer it.
    private func answer(_ request: HTTPRequest) -> [UInt8]? {
        guard request.method == .get, let path = request.path, path.hasPrefix(Self.prefix),
            !Self.asksToClose(request.headerFields[.connection])
        else { return nil }
        let rest = path.utf8.dropFirst(Self.prefix.utf8.count)
        // Only plain `<system>/<id>`: a query, an escape or another segment is the router's to interpret.
        guard let slash = rest.firstIndex(of: UInt8(ascii: "/")),
            !rest.contains(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "#") })
        else { return nil }
        let system = rest[rest.startIndex..<slash]
        let id = rest[rest.index(after: slash)...]
        guard !system.isEmpty, !id.isEmpty, !id.contains(UInt8(ascii: "/")), let systemName = String(system),
            let idString = String(id)
        else { return nil }
        return routes.immediateEntitlement(
            system: systemName, id: idString, authorization: request.headerFields[.authorization], now: Date())
    }

    /// Whether a `Connection` header names `close` (any case): the router then answers and closes.
    static func asksToClose(_ value: String?) -> Bool {
        guard let value else { return false }
        let bytes = Array(value.utf8)
        let close = Array("close".utf8)
        guard bytes.count >= close.count else { return false }
        for start in 0...(bytes.count - close.count) {
            var match = true
            for offset in 0..<close.count where bytes[start + offset] | 0x20 != close[offset] {
                match = false
                break
            }
            if match { return true }
        }
        return false
    }

}

import Foundation
import HTTPTypes
public import NIOCore
public import NIOHTTPTypes
import WeftSimKit

/// Answers `POST /json/2/<model>/<method>` on the connection's event loop, before the request reaches the router.
///
/// Through the router each call crosses from the event loop into a Swift task and its answer back, which cost the
/// simulator about a fifth of its CPU in `weft bench`, as much as the ORM work of a small call. The JSON-2 calls that
/// need nothing asynchronous are answered here by the same code (`OdooSimulator.json2`), recorded in the same logs and
/// written with the headers the router writes (`Content-Type`, `Content-Length`, `WWW-Authenticate` on a 401, `Date`).
/// Everything else goes on to the router unchanged: other paths and transports, a planned fault (latency, errors, an
/// outage), a body without a `Content-Length` or over 1 MiB, `Expect`, `Connection: close`, a path with a query or an
/// escape. Responses stay in request order: while a request passed on has not been answered, later ones are passed on
/// too (HTTP/1.1 pipelining).
public final class OdooJSON2FastPath: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    static let bodyLimit = 1 << 20

    let simulator: OdooSimulator
    /// Requests passed on to the router whose answer has not ended yet.
    private var forwardedInFlight = 0
    /// The request being answered here, and its body so far.
    private var head: HTTPRequest?
    private var body: ByteBuffer?
    /// The current request goes to the router.
    private var forwarding = false
    private var date = (second: Int64.min, text: "")

    public init(simulator: OdooSimulator) {
        self.simulator = simulator
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if forwardedInFlight == 0, answersHere(request) {
                head = request
                body = nil
                forwarding = false
                return
            }
            forwarding = true
            forwardedInFlight += 1
            context.fireChannelRead(data)
        case .body(var part):
            if forwarding {
                context.fireChannelRead(data)
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            if forwarding {
                context.fireChannelRead(data)
                return
            }
            guard let request = head else { return }
            head = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            write(simulator.answerJSON2(request, bytes: bytes), to: context)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), forwardedInFlight > 0 { forwardedInFlight -= 1 }
        context.write(data, promise: promise)
    }

    /// Whether `request` is one this handler answers (see the type's description).
    private func answersHere(_ request: HTTPRequest) -> Bool {
        guard request.method == .post, let path = request.path, path.hasPrefix("/json/2/"),
            !path.utf8.contains(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "#") }),
            let length = request.headerFields[.contentLength].flatMap({ Int($0) }), length <= Self.bodyLimit,
            request.headerFields[.transferEncoding] == nil, request.headerFields[.expect] == nil,
            !Self.asksToClose(request.headerFields[values: .connection]), simulator.faults.isQuiet
        else { return false }
        return true
    }

    private func write(_ answer: OdooSimulator.JSON2Answer, to context: ChannelHandlerContext) {
        let body = Array(answer.body.utf8)
        var fields = HTTPFields()
        fields[.contentType] = answer.contentType
        fields[.contentLength] = String(body.count)
        if answer.challenges { fields.append(OdooSimulator.JSON2Answer.challenge) }
        fields[.date] = httpDate()
        let head = HTTPResponse(status: .init(code: answer.status), headerFields: fields)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Whether a `Connection` header names `close` (any case).
    static func asksToClose(_ values: [String]) -> Bool {
        values.contains { value in
            value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
        }
    }

    /// Now as an HTTP date (`Mon, 07 Dec 2026 02:01:00 GMT`), as the router writes it; made once a second.
    private func httpDate() -> String {
        let seconds = Int64(Date().timeIntervalSince1970.rounded(.down))
        if seconds != date.second { date = (seconds, Self.httpDate(seconds)) }
        return date.text
    }

    static func httpDate(_ seconds: Int64) -> String {
        // `YYYY-MM-DD HH:MM:SS`, UTC.
        let stamp = Array(Database.formatUTC(Date(timeIntervalSince1970: TimeInterval(seconds))).datetime)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday.
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = months[(Int(String(stamp[5...6])) ?? 1) - 1]
        return
            "\(weekdays[Int(((days % 7) + 7) % 7)]), \(String(stamp[8...9])) \(month) \(String(stamp[0...3])) \(String(stamp[11...])) GMT"
    }
}

extension OdooSimulator {
    /// Answers a JSON-2 call `OdooJSON2FastPath` took, recording it as the router's path does (the call log, then the
    /// request log).
    func answerJSON2(_ request: HTTPRequest, bytes: [UInt8]) -> JSON2Answer {
        let path = request.path ?? ""
        var call = Call(method: request.method.rawValue, path: path, transport: "json2", status: 200, atMs: elapsedMs)
        let answer = json2(method: request.method, headers: request.headerFields, path: path, bytes: bytes, call: &call)
        call.status = answer.status
        record(call)
        requestLog.record(method: request.method.rawValue, path: path, status: answer.status)
        return answer
    }
}

import Foundation
public import NIOCore
public import NIOPosix
import Synchronization

/// Entitlement lookups at a fixed concurrency: each client is one keep-alive HTTP/1.1 connection sending
/// `GET /v1/entitlements/<system>/<id>` with a bearer token, the next request as soon as the previous answer ends.
///
/// Written on SwiftNIO directly, with prebuilt requests and a minimal response reader rather than AsyncHTTPClient or
/// NIO's HTTP codec: the generator shares the machine's cores with the server it measures, so the less it spends per
/// request, the more the figure says about Weft (as `wrk` does).
public struct LookupLoad: Sendable {
    public struct Result: Sendable {
        public var ok: Int
        /// Answers other than 200 (and transport failures).
        public var failed: Int
        public var elapsed: Duration
        /// Latency of each answered request, in milliseconds.
        public var latenciesMs: [Double]

        public init(ok: Int = 0, failed: Int = 0, elapsed: Duration = .zero, latenciesMs: [Double] = []) {
            self.ok = ok
            self.failed = failed
            self.elapsed = elapsed
            self.latenciesMs = latenciesMs
        }

        public var perSecond: Double {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return seconds > 0 ? Double(ok) / seconds : 0
        }

        public func latency(quantile q: Double) -> Double {
            guard !latenciesMs.isEmpty else { return 0 }
            let sorted = latenciesMs.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * q))]
        }
    }

    /// `host:port` of each node; connections are spread over them.
    let endpoints: [(host: String, port: Int)]
    let token: String
    let group: any EventLoopGroup

    public init(endpoints: [(host: String, port: Int)], token: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.endpoints = endpoints
        self.token = token
        self.group = group
    }

    /// Sends `total` lookups of the given account paths (`stripe/cus_1`, cycled) over `concurrency` connections.
    public func run(paths: [String], total: Int, concurrency: Int) async throws -> Result {
        guard !paths.isEmpty, !endpoints.isEmpty else { return Result() }
        let shared = LookupProgress()
        let started = ContinuousClock.now
        let token = self.token
        let outcomes = try await withThrowingTaskGroup(of: (Int, Int, [Double]).self) { tasks in
            for client in 0..<max(1, concurrency) {
                let endpoint = endpoints[client % endpoints.count]
                tasks.addTask {
                    let promise = group.next().makePromise(of: (Int, Int, [Double]).self)
                    let channel = try await ClientBootstrap(group: group)
                        .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                        .channelInitializer { channel in
                            channel.pipeline.addHandler(
                                LookupClientHandler(
                                    host: endpoint.host, token: token, paths: paths, total: total, progress: shared,
                                    done: promise))
                        }
                        .connect(host: endpoint.host, port: endpoint.port).get()
                    let outcome = try await promise.futureResult.get()
                    try? await channel.close()
                    return outcome
                }
            }
            var all: [(Int, Int, [Double])] = []
            for try await outcome in tasks { all.append(outcome) }
            return all
        }
        return Result(
            ok: outcomes.reduce(0) { $0 + $1.0 }, failed: outcomes.reduce(0) { $0 + $1.1 },
            elapsed: started.duration(to: .now), latenciesMs: outcomes.flatMap(\.2))
    }
}

/// The next request index, shared by every connection.
final class LookupProgress: Sendable {
    let next = Atomic<Int>(0)
}

/// One client connection: writes a prebuilt request, reads the answer to its end (status line, `Content-Length`),
/// records it, writes the next. HTTP/1.1 without a codec: the generator shares the cores with the server it measures,
/// and parsing only what it needs keeps its share small. An answer without `Content-Length` (chunked) counts as a
/// failure and ends the connection.
final class LookupClientHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let requests: [ByteBuffer]
    let total: Int
    let progress: LookupProgress
    let done: EventLoopPromise<(Int, Int, [Double])>
    var ok = 0
    var failed = 0
    var latencies: [Double] = []
    var sentAt: NIODeadline = .now()
    var buffer: ByteBuffer?
    var finished = false

    init(
        host: String, token: String, paths: [String], total: Int, progress: LookupProgress,
        done: EventLoopPromise<(Int, Int, [Double])>
    ) {
        self.requests = paths.map { path in
            ByteBuffer(
                string: "GET /v1/entitlements/\(path) HTTP/1.1\r\nHost: \(host)\r\nAuthorization: Bearer \(token)\r\n"
                    + "Connection: keep-alive\r\n\r\n")
        }
        self.total = total
        self.progress = progress
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        LookupClientHandler.accumulate(unwrapInboundIn(data), into: &buffer)
        while let status = nextResponse() {
            guard let status else {
                failed += 1
                finish()
                context.close(promise: nil)
                return
            }
            if status == 200 {
                ok += 1
                latencies.append(Double((NIODeadline.now() - sentAt).nanoseconds) / 1e6)
            } else {
                failed += 1
            }
            sendNext(context: context)
        }
    }

    /// Appends what was read to what is waiting to be framed.
    static func accumulate(_ incoming: ByteBuffer, into buffer: inout ByteBuffer?) {
        var incoming = incoming
        if buffer == nil {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
    }

    /// Takes one complete response off the buffer: `.some(status)`, `.some(nil)` for one it cannot read, `nil` when
    /// the response has not fully arrived.
    func nextResponse() -> Int?? {
        Self.takeResponse(from: &buffer).map { $0.map(\.status) }
    }

    /// Takes one complete HTTP/1.1 response off `buffer`: `.some((status, body))`, `.some(nil)` for one without a
    /// `Content-Length`, `nil` when it has not fully arrived (the buffer is then left as it was).
    static func takeResponse(from buffer: inout ByteBuffer?) -> (status: Int, body: ByteBufferView)?? {
        guard var readable = buffer, readable.readableBytes >= 12 else { return nil }
        let view = readable.readableBytesView
        guard let headEnd = find([13, 10, 13, 10], in: view) else { return nil }
        guard let length = contentLength(view[view.startIndex..<headEnd]) else { return .some(nil) }
        let bodyStart = headEnd + 4
        guard view.endIndex - bodyStart >= length else { return nil }
        // "HTTP/1.1 200 OK": the three digits after the first space.
        let digits = view[view.startIndex + 9..<view.startIndex + 12]
        let status = digits.reduce(0) { $0 * 10 + Int($1) - 48 }
        let body = ByteBufferView(view[bodyStart..<bodyStart + length])
        readable.moveReaderIndex(forwardBy: bodyStart - view.startIndex + length)
        buffer = readable.readableBytes == 0 ? nil : readable
        return .some((status, body))
    }

    static func find(_ needle: [UInt8], in haystack: ByteBufferView) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while index <= last {
            if haystack[index] == needle[0] {
                var match = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    match = false
                    break
                }
                if match { return index }
            }
            index += 1
        }
        return nil
    }

    /// The value of the `Content-Length` header (any case) in a response head.
    static func contentLength(_ head: ByteBufferView.SubSequence) -> Int? {
        let name = Array("content-length:".utf8)
        var index = head.startIndex
        while index < head.endIndex {
            // At the start of a header line (after CRLF).
            if head[index] == 10, head.endIndex - (index + 1) >= name.count {
                var match = true
                for offset in 0..<name.count where head[index + 1 + offset] | 0x20 != name[offset] {
                    match = false
                    break
                }
                if match {
                    var value = 0
                    var cursor = index + 1 + name.count
                    while cursor < head.endIndex, head[cursor] == 32 { cursor += 1 }
                    var any = false
                    while cursor < head.endIndex, head[cursor] >= 48, head[cursor] <= 57 {
                        value = value * 10 + Int(head[cursor]) - 48
                        any = true
                        cursor += 1
                    }
                    return any ? value : nil
                }
            }
            index += 1
        }
        return nil
    }

    func sendNext(context: ChannelHandlerContext) {
        let index = progress.next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard index < total else {
            finish()
            return
        }
        sentAt = .now()
        context.writeAndFlush(wrapOutboundOut(requests[index % requests.count]), promise: nil)
    }

    func finish() {
        guard !finished else { return }
        finished = true
        done.succeed((ok, failed, latencies))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed += 1
        finish()
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
    }
}

import Foundation
public import NIOCore
import NIOHTTP1
public import NIOPosix
import Synchronization

/// Entitlement lookups at a fixed concurrency: each client is one keep-alive HTTP/1.1 connection sending
/// `GET /v1/entitlements/<system>/<id>` with a bearer token, the next request as soon as the previous answer ends.
///
/// Written on SwiftNIO directly rather than AsyncHTTPClient: the generator shares the machine's cores with the server
/// it measures, so the less it spends per request, the more the figure says about Weft.
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
                            channel.pipeline.addHTTPClientHandlers().flatMap {
                                channel.pipeline.addHandler(
                                    LookupClientHandler(
                                        host: endpoint.host, token: token, paths: paths, total: total, progress: shared,
                                        done: promise))
                            }
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

/// One client connection: sends a request, reads the answer to its end, records it, sends the next.
final class LookupClientHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let headers: HTTPHeaders
    let paths: [String]
    let total: Int
    let progress: LookupProgress
    let done: EventLoopPromise<(Int, Int, [Double])>
    var ok = 0
    var failed = 0
    var latencies: [Double] = []
    var sentAt: NIODeadline = .now()
    var status: HTTPResponseStatus = .ok
    var finished = false

    init(
        host: String, token: String, paths: [String], total: Int, progress: LookupProgress,
        done: EventLoopPromise<(Int, Int, [Double])>
    ) {
        self.headers = ["Host": host, "Authorization": "Bearer \(token)", "Connection": "keep-alive"]
        self.paths = paths
        self.total = total
        self.progress = progress
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body:
            break
        case .end:
            if status == .ok {
                ok += 1
                latencies.append(Double((NIODeadline.now() - sentAt).nanoseconds) / 1e6)
            } else {
                failed += 1
            }
            sendNext(context: context)
        }
    }

    func sendNext(context: ChannelHandlerContext) {
        let index = progress.next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard index < total else {
            finish()
            return
        }
        sentAt = .now()
        let head = HTTPRequestHead(
            version: .http1_1, method: .GET, uri: "/v1/entitlements/\(paths[index % paths.count])", headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
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

public import AsyncHTTPClient
package import Foundation
package import Logging
import NIOCore
package import NIOHTTP1
package import WeftCore

/// One outbound request: method, absolute URL, headers, body and a per-call timeout.
package struct OutboundHTTPRequest: Sendable {
    package var method: HTTPMethod
    package var url: String
    package var headers: HTTPHeaders
    package var body: [UInt8]?
    package var timeout: Duration

    package init(method: HTTPMethod, url: String, headers: HTTPHeaders = [:], body: [UInt8]? = nil, timeout: Duration) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A fully read response.
package struct OutboundHTTPResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: [UInt8]

    /// `Retry-After`, parsed.
    package func retryAfter(now: Date = Date()) -> Duration? {
        RetryAfter.parse(headers.first(name: "retry-after"), now: now)
    }
}

/// The shared outbound HTTP path of every connector: awaits the target's `RequestGate` before each request, applies
/// the per-call deadline, reads the body with a size cap and tells the gate about 429s.
package struct OutboundHTTPClient: Sendable {
    package let client: HTTPClient
    package let gate: any RequestGate
    package let maxResponseBytes: Int

    package init(client: HTTPClient, gate: any RequestGate, maxResponseBytes: Int = 32 << 20) {
        self.client = client
        self.gate = gate
        self.maxResponseBytes = maxResponseBytes
    }

    package func send(_ request: OutboundHTTPRequest, logger: Logger) async throws(HTTPTransportError) -> OutboundHTTPResponse {
        let host = URL(string: request.url)?.host ?? "target"
        do {
            try await gate.acquire()
        } catch {
            throw .cancelled()
        }
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        outgoing.headers = request.headers
        if let body = request.body {
            outgoing.body = .bytes(ByteBuffer(bytes: body))
        }
        let started = ContinuousClock.now
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Self.nanoseconds(request.timeout))
            let response = try await client.execute(outgoing, deadline: deadline, logger: logger)
            let buffer = try await response.body.collect(upTo: maxResponseBytes)
            let status = Int(response.status.code)
            if status == 429 {
                gate.didReceiveRateLimit(retryAfter: RetryAfter.parse(response.headers.first(name: "retry-after")))
            }
            logger.trace(
                "outbound request",
                metadata: [
                    "weft.http.method": "\(request.method.rawValue)", "weft.http.host": "\(host)",
                    "weft.http.status": "\(status)", "weft.http.duration": "\(ContinuousClock.now - started)",
                ])
            return OutboundHTTPResponse(status: status, headers: response.headers, body: Array(buffer.readableBytesView))
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout,
                .tlsHandshakeTimeout:
                throw .timeout(host: host)
            case .cancelled, .requestStreamCancelled:
                throw .cancelled()
            case .invalidURL, .emptyHost, .emptyScheme:
                throw .invalidURL()
            default:
                throw .connection(host: host, underlying: error)
            }
        } catch is CancellationError {
            throw .cancelled()
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw .responseTooLarge(host: host, limit: maxResponseBytes)
        } catch {
            if Task.isCancelled { throw .cancelled() }
            throw .connection(host: host, underlying: error)
        }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// HTTP client settings for connectors: a bounded pool per host and sane connect/idle timeouts.
public enum OutboundHTTP {
    /// A configuration with at most `connectionsPerHost` HTTP/1 connections per host (default 16).
    public static func clientConfiguration(
        connectionsPerHost: Int = 16, connectTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60)
    ) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(idleTimeout.components.seconds),
            concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.timeout = .init(connect: .seconds(connectTimeout.components.seconds))
        configuration.redirectConfiguration = .disallow
        // Weft traces by its own trace id in logs and bootstraps no tracer: with the default no-op tracer the client
        // still built every request's span attributes (URL parsing and all), about 5 % of the delivery loop.
        configuration.tracing.tracer = nil
        return configuration
    }
}

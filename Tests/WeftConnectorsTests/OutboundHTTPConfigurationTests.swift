import AsyncHTTPClient
import NIOCore
import Testing
import WeftConnectors

/// What every connector's HTTP client is built with.
@Suite("Outbound HTTP client configuration")
struct OutboundHTTPConfigurationTests {
    @Test func noTracerNoRedirectsAndTheGivenTimeouts() {
        let configuration = OutboundHTTP.clientConfiguration(connectTimeout: .seconds(3), idleTimeout: .seconds(20))
        // No span per request: Weft follows a call by its trace id in the logs.
        #expect(configuration.tracing.tracer == nil)
        #expect(configuration.timeout.connect == .seconds(3))
        #expect(configuration.connectionPool.idleTimeout == .seconds(20))
        #expect(configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit == 16)
    }
}

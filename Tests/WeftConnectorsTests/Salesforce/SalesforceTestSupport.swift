import AsyncHTTPClient
import Hummingbird
import Logging
import Synchronization
import WeftCore
import WeftSimKit
import WeftSimSalesforce
import _CryptoExtras

@testable import WeftConnectors

let salesforceLogger = Logger(label: "test.salesforce")
let salesforceConsumerKey = "3MVG9WeftTestConsumerKey"
let salesforceUsername = "weft@acme.example"
let salesforceClientSecret = "sf-client-secret-DO-NOT-LOG"

/// One RSA key for the whole suite (generating 2048-bit keys is slow).
let salesforceKey: _RSA.Signing.PrivateKey = {
    // A fresh key per test process; the simulator trusts its public half.
    try! _RSA.Signing.PrivateKey(keySize: .bits2048)
}()

func makeSalesforceSimulator(
    preAuthorized: Set<String> = [salesforceUsername], runAs: String? = salesforceUsername
) -> SalesforceSimulator {
    SalesforceSimulator(
        configuration: .init(
            connectedApps: [
                salesforceConsumerKey: .init(
                    jwtPublicKeyPEM: salesforceKey.publicKey.pemRepresentation, preAuthorizedUsernames: preAuthorized,
                    clientSecret: salesforceClientSecret, clientCredentialsRunAs: runAs)
            ],
            idSeed: 11))
}

func withSalesforce<T: Sendable>(
    _ simulator: SalesforceSimulator, _ body: @escaping @Sendable (String) async throws -> T
) async throws -> T {
    let router = Router()
    simulator.addRoutes(to: router)
    return try await SimulatorServer.withRunning(router: router, logger: salesforceLogger) { port in
        try await body("http://127.0.0.1:\(port)")
    }
}

func salesforceConfiguration(
    _ base: String, authentication: SalesforceConfiguration.Authentication? = nil, queryBatchSize: Int? = nil
) -> SalesforceConfiguration {
    SalesforceConfiguration(
        instanceURL: base, loginURL: base, jwtAudience: "https://login.salesforce.com", apiVersion: "62.0",
        authentication: authentication
            ?? .jwtBearer(
                consumerKey: salesforceConsumerKey, username: salesforceUsername,
                privateKeyPEM: salesforceKey.pemRepresentation),
        queryBatchSize: queryBatchSize)
}

func salesforceClient(
    _ configuration: SalesforceConfiguration, gate: any RequestGate = OpenGate(),
    limits: SalesforceLimitTracker = SalesforceLimitTracker()
) -> SalesforceClient {
    SalesforceClient(
        http: OutboundHTTPClient(client: HTTPClient.shared, gate: gate), configuration: configuration, limits: limits)
}

/// A gate that admits everything and remembers the holds it was asked for.
final class RecordingGate: RequestGate {
    private let holds = Mutex<[Duration?]>([])

    func acquire() async throws { try Task.checkCancellation() }
    func didReceiveRateLimit(retryAfter: Duration?) { holds.withLock { $0.append(retryAfter) } }
    var recorded: [Duration?] { holds.withLock { $0 } }
}
